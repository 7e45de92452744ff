// Work descriptions for the vectorised loops, which are compiled once per instruction set
// (isa_baseline.cc, isa_avx2.cc from simd_kernels.h) and picked at run time by simdLevel().
#pragma once

#include <cstddef>
#include <cstdint>

namespace vk {

struct DotJob {
  const float* a;
  const float* b;
  size_t dim, bRows;
  const int32_t *aIndex, *bStart, *bCount;  // banded requests only
  const uint64_t* offset;                    // banded requests only: where row r's dots go
  float* out;
};

// One set per instruction set; each handles rows [r0, r1) of its job.
#define VK_DECLARE_ISA(ns)                                       \
  namespace ns {                                                 \
  void pairsRows(const DotJob& j, size_t r0, size_t r1);         \
  void fullRows(const DotJob& j, size_t r0, size_t r1);          \
  }
VK_DECLARE_ISA(baseline)
VK_DECLARE_ISA(avx2)
#undef VK_DECLARE_ISA

}  // namespace vk
