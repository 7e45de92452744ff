// The vectorised loops for the baseline instruction set (SSE4.2 on x86-64, plain C++ elsewhere).
#include "common.h"
#include "jobs.h"
#include "simd.h"

namespace vk {
namespace baseline {

using I = Baseline;
constexpr int kDotBlock = 2;  // 2 × 4 xmm accumulators: more would spill on SSE's 16 registers

#include "simd_kernels.h"

}  // namespace baseline
}  // namespace vk
