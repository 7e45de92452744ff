// The vectorised loops compiled for AVX2. Only reached when the CPU reports AVX2 (see simdLevel),
// so the addon itself still runs on x86-64-v2 machines. All headers come before the pragma, so no
// code shared with baseline translation units is compiled for AVX2.
#include "common.h"
#include "jobs.h"
#include "simd.h"

#if VK_X86

#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx2")
#endif

namespace vk {
namespace avx2 {

using I = Avx2;
constexpr int kDotBlock = 4;  // 4 × 2 ymm accumulators

#include "simd_kernels.h"

}  // namespace avx2
}  // namespace vk

#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif

#else  // not x86: simdLevel() never selects AVX2; these only satisfy the linker.

namespace vk {
namespace avx2 {
void pairsRows(const DotJob& j, size_t r0, size_t r1) { baseline::pairsRows(j, r0, r1); }
void fullRows(const DotJob& j, size_t r0, size_t r1) { baseline::fullRows(j, r0, r1); }
}  // namespace avx2
}  // namespace vk

#endif
