// 8-lane double accumulators on three instruction sets, so the float kernels can be written once
// (templated on the ISA) and compiled for each. Lane j always holds the running sum of elements
// k + j (k a multiple of 8) — the order reference.ts follows — whatever the register width, so
// every ISA returns the same bits.
//
// The binary targets x86-64-v2 (SSE4.2); AVX2 code lives only in functions marked VK_AVX2 and runs
// only after a CPU check, so the addon still loads on older x86 machines. Other architectures get
// the Scalar ISA (the compiler vectorises it as it can).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#if (defined(__x86_64__) || defined(_M_X64)) && (defined(__GNUC__) || defined(__clang__))
#define VK_X86 1
#include <immintrin.h>
#define VK_AVX2 __attribute__((target("avx2")))
#else
#define VK_X86 0
#define VK_AVX2
#endif

#if defined(__GNUC__) || defined(__clang__)
#define VK_INLINE inline __attribute__((always_inline))
#else
#define VK_INLINE inline
#endif

namespace vk {

enum class Simd { Baseline = 0, Avx2 = 1 };

inline bool cpuHasAvx2() {
#if VK_X86
  return __builtin_cpu_supports("avx2");
#else
  return false;
#endif
}

// Process-wide choice; tests flip it to check that every ISA gives the same bits.
inline std::atomic<int>& simdSetting() {
  static std::atomic<int> level{cpuHasAvx2() ? int(Simd::Avx2) : int(Simd::Baseline)};
  return level;
}

inline Simd simdLevel() { return Simd(simdSetting().load(std::memory_order_relaxed)); }

// Branch-free `if (v < best) { best = v; code = k; }`. Compilers turn the plain ternary form back
// into branches, which random-looking costs mispredict about half the time.
VK_INLINE void selectLess(double v, int32_t k, double& best, int32_t& code) {
#if VK_X86
  const __m128d vv = _mm_set_sd(v), bb = _mm_set_sd(best);
  const __m128d lt = _mm_cmplt_sd(vv, bb);
  const int32_t m = _mm_cvtsi128_si32(_mm_castpd_si128(lt));  // −1 or 0
  best = _mm_cvtsd_f64(_mm_min_sd(vv, bb));                     // v < best ? v : best
  code = (k & m) | (code & ~m);
#else
  const bool lt = v < best;
  best = lt ? v : best;
  code = lt ? k : code;
#endif
}

// a < b ? a : b, as one minsd where available (never a branch).
VK_INLINE double minOf(double a, double b) {
#if VK_X86
  return _mm_cvtsd_f64(_mm_min_sd(_mm_set_sd(a), _mm_set_sd(b)));
#else
  return a < b ? a : b;
#endif
}

struct Scalar {
  static constexpr const char* name = "scalar";
  struct D8 {
    double v[8];
  };
  static VK_INLINE D8 zero() { return {{0, 0, 0, 0, 0, 0, 0, 0}}; }
  static VK_INLINE D8 loadf(const float* p) {
    D8 r;
    for (int j = 0; j < 8; j++) r.v[j] = static_cast<double>(p[j]);
    return r;
  }
  static VK_INLINE D8 add(D8 a, D8 b) {
    for (int j = 0; j < 8; j++) a.v[j] += b.v[j];
    return a;
  }
  static VK_INLINE D8 mul(D8 a, D8 b) {
    for (int j = 0; j < 8; j++) a.v[j] *= b.v[j];
    return a;
  }
  static VK_INLINE void store(double* out, D8 a) {
    for (int j = 0; j < 8; j++) out[j] = a.v[j];
  }
};

#if VK_X86
struct Sse {
  static constexpr const char* name = "sse4.2";
  struct D8 {
    __m128d a, b, c, d;
  };
  static VK_INLINE D8 zero() {
    const __m128d z = _mm_setzero_pd();
    return {z, z, z, z};
  }
  static VK_INLINE D8 loadf(const float* p) {
    const __m128 lo = _mm_loadu_ps(p), hi = _mm_loadu_ps(p + 4);
    return {_mm_cvtps_pd(lo), _mm_cvtps_pd(_mm_movehl_ps(lo, lo)), _mm_cvtps_pd(hi), _mm_cvtps_pd(_mm_movehl_ps(hi, hi))};
  }
  static VK_INLINE D8 add(D8 x, D8 y) { return {_mm_add_pd(x.a, y.a), _mm_add_pd(x.b, y.b), _mm_add_pd(x.c, y.c), _mm_add_pd(x.d, y.d)}; }
  static VK_INLINE D8 mul(D8 x, D8 y) { return {_mm_mul_pd(x.a, y.a), _mm_mul_pd(x.b, y.b), _mm_mul_pd(x.c, y.c), _mm_mul_pd(x.d, y.d)}; }
  static VK_INLINE void store(double* out, D8 x) {
    _mm_storeu_pd(out, x.a);
    _mm_storeu_pd(out + 2, x.b);
    _mm_storeu_pd(out + 4, x.c);
    _mm_storeu_pd(out + 6, x.d);
  }
};

struct Avx2 {
  static constexpr const char* name = "avx2";
  struct D8 {
    __m256d lo, hi;
  };
  static VK_INLINE VK_AVX2 D8 zero() {
    const __m256d z = _mm256_setzero_pd();
    return {z, z};
  }
  static VK_INLINE VK_AVX2 D8 loadf(const float* p) {
    return {_mm256_cvtps_pd(_mm_loadu_ps(p)), _mm256_cvtps_pd(_mm_loadu_ps(p + 4))};
  }
  static VK_INLINE VK_AVX2 D8 add(D8 x, D8 y) { return {_mm256_add_pd(x.lo, y.lo), _mm256_add_pd(x.hi, y.hi)}; }
  static VK_INLINE VK_AVX2 D8 mul(D8 x, D8 y) { return {_mm256_mul_pd(x.lo, y.lo), _mm256_mul_pd(x.hi, y.hi)}; }
  static VK_INLINE VK_AVX2 void store(double* out, D8 x) {
    _mm256_storeu_pd(out, x.lo);
    _mm256_storeu_pd(out + 4, x.hi);
  }
};
using Baseline = Sse;
#else
using Baseline = Scalar;
#endif

}  // namespace vk
