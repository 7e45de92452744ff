// Work descriptions for the vectorised loops, which are compiled once per instruction set
// (isa_baseline.cc, isa_avx2.cc from simd_kernels.h) and picked at run time by simdLevel().
#pragma once

#include <cstddef>
#include <cstdint>

namespace vk {

enum class Metric { Sad, Ssd, Ncc };

struct F32Job {
  const float* bg;
  const double* fd;     // fg as double
  const double* w;      // 0/1 weights, or null without a mask
  const uint8_t* mask;  // null without a mask
  const double* fc;     // w·(fg − mean), for ncc
  size_t dim;
  double n, varF;
  Metric metric;
  double* out;
};

struct U8Job {
  const uint8_t* fm;    // fg·m: with m ∈ {0,1}, m·|f − b| = |fm − bm| and m·b·f = bm·fm
  const uint8_t* m255;  // 0xFF where used, so bm = b & m255
  const uint8_t* bg;
  size_t dim;
  Metric metric;
  double n, sf, varF;
  double* out;
};

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
  void f32Rows(const F32Job& j, size_t r0, size_t r1);           \
  void u8Rows(const U8Job& j, size_t r0, size_t r1);             \
  void pairsRows(const DotJob& j, size_t r0, size_t r1);         \
  void fullRows(const DotJob& j, size_t r0, size_t r1);          \
  }
VK_DECLARE_ISA(baseline)
VK_DECLARE_ISA(avx2)
#undef VK_DECLARE_ISA

double nccDistance(double cov, double varF, double varB);
bool flatF32(const float* x, const uint8_t* mask, size_t dim);

}  // namespace vk
