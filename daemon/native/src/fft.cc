// The radix-2 FFT behind the coarse spatial search's correlations (engine/spatial/fft.ts): the
// same butterflies in the same order as the twin in reference.ts, on the caller's twiddles, so both
// backends return the same bits.
#include <algorithm>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "common.h"
#include "kernels.h"
#include "simd.h"

namespace vk {

namespace {

bool powerOfTwo(int64_t v) { return v > 0 && (v & (v - 1)) == 0; }

std::vector<uint32_t> reversal(int64_t n) {
  std::vector<uint32_t> rev(size_t(n), 0);
  int bits = 0;
  while ((int64_t(1) << bits) < n) bits++;
  for (int64_t i = 0; i < n; i++) {
    uint32_t r = 0;
    for (int b = 0; b < bits; b++) r |= uint32_t((i >> b) & 1) << (bits - 1 - b);
    rev[size_t(i)] = r;
  }
  return rev;
}

// Vectors of doubles through GCC's and clang's vector extension: V2 is one SSE register (the
// baseline build), V4 one AVX2 register (compiled only into the AVX2 variant). Loads and stores
// through memcpy, which makes them unaligned (a typedef's alignment is not kept on vector types).
// Other compilers get one double per "vector": the same arithmetic, unvectorised.
#if defined(__GNUC__) || defined(__clang__)
typedef double V2 __attribute__((vector_size(16)));
typedef double V4 __attribute__((vector_size(32)));
#else
typedef double V2;
typedef double V4;
#endif

template <typename V>
VK_INLINE V loadU(const double* p) {
  V v;
  std::memcpy(&v, p, sizeof(V));
  return v;
}

template <typename V>
VK_INLINE void storeU(double* p, V v) {
  std::memcpy(p, &v, sizeof(V));
}

// `lanes` transforms of n values side by side, value i of transform l at re[i * stride + l]: the
// columns of a row-major image, transformed in place a whole row at a time. Each lane gets the
// twin's butterflies in the twin's order (reference.ts fft1) with element-wise IEEE operations (no
// contraction), so each returns its bits, and the lanes run in vector registers (one column at a
// time, through a copy, was a fifth of a small align's own time). A single row is one lane.
template <typename V>
VK_INLINE void fftLanesOf(double* re, double* im, int64_t n, int64_t lanes, int64_t stride, const double* cs, const double* sn, const uint32_t* rev, bool inverse) {
  constexpr int64_t per = int64_t(sizeof(V) / sizeof(double));
  if (n <= 1 || lanes <= 0) return;
  const int64_t vecEnd = lanes - lanes % per;
  for (int64_t i = 0; i < n; i++) {
    const int64_t j = rev[i];
    if (j > i) {
      std::swap_ranges(re + i * stride, re + i * stride + lanes, re + j * stride);
      std::swap_ranges(im + i * stride, im + i * stride + lanes, im + j * stride);
    }
  }
  const double sgn = inverse ? 1 : -1;
  for (int64_t size = 2; size <= n; size <<= 1) {
    const int64_t half = size >> 1;
    const int64_t step = n / size;
    for (int64_t start = 0; start < n; start += size) {
      for (int64_t k = 0; k < half; k++) {
        const double wr = cs[k * step];
        const double wi = sgn * sn[k * step];
        double* ar = re + (start + k) * stride;
        double* ai = im + (start + k) * stride;
        double* br = re + (start + k + half) * stride;
        double* bi = im + (start + k + half) * stride;
        int64_t l = 0;
        for (; l < vecEnd; l += per) {
          const V vr = loadU<V>(br + l), vi = loadU<V>(bi + l), va = loadU<V>(ar + l), vai = loadU<V>(ai + l);
          const V xr = vr * wr - vi * wi;
          const V xi = vr * wi + vi * wr;
          storeU(br + l, va - xr);
          storeU(bi + l, vai - xi);
          storeU(ar + l, va + xr);
          storeU(ai + l, vai + xi);
        }
        for (; l < lanes; l++) {
          const double xr = br[l] * wr - bi[l] * wi;
          const double xi = br[l] * wi + bi[l] * wr;
          br[l] = ar[l] - xr;
          bi[l] = ai[l] - xi;
          ar[l] += xr;
          ai[l] += xi;
        }
      }
    }
  }
}

void fftLanesBaseline(double* re, double* im, int64_t n, int64_t lanes, int64_t stride, const double* cs, const double* sn, const uint32_t* rev, bool inverse) {
  fftLanesOf<V2>(re, im, n, lanes, stride, cs, sn, rev, inverse);
}

VK_AVX2 void fftLanesAvx2(double* re, double* im, int64_t n, int64_t lanes, int64_t stride, const double* cs, const double* sn, const uint32_t* rev, bool inverse) {
  fftLanesOf<V4>(re, im, n, lanes, stride, cs, sn, rev, inverse);
}

void fftLanes(double* re, double* im, int64_t n, int64_t lanes, int64_t stride, const double* cs, const double* sn, const uint32_t* rev, bool inverse) {
  if (simdLevel() == Simd::Avx2)
    fftLanesAvx2(re, im, n, lanes, stride, cs, sn, rev, inverse);
  else
    fftLanesBaseline(re, im, n, lanes, stride, cs, sn, rev, inverse);
}

}  // namespace

Napi::Value Fft2d(const Napi::CallbackInfo& info) {
  static const char* fn = "fft2d";
  Napi::Env env = info.Env();
  const auto re = typedArg<double>(info[0], fn, "re");
  const auto im = typedArg<double>(info[1], fn, "im");
  const int64_t w = intArg(info[2], fn, "w", 1);
  const int64_t h = intArg(info[3], fn, "h", 1);
  if (!powerOfTwo(w)) rangeError(env, std::string(fn) + ": w must be a power of two (got " + std::to_string(w) + ")");
  if (!powerOfTwo(h)) rangeError(env, std::string(fn) + ": h must be a power of two (got " + std::to_string(h) + ")");
  const int64_t count = intArg(info[4], fn, "count");
  if (count > h) rangeError(env, std::string(fn) + ": count must be at most h (" + std::to_string(h) + ")");
  const bool inverse = info[5].ToBoolean().Value();
  const auto cosW = typedArg<double>(info[6], fn, "cosW");
  needLength(env, fn, "cosW", cosW.length, uint64_t(w / 2), "half the length");
  const auto sinW = typedArg<double>(info[7], fn, "sinW");
  needLength(env, fn, "sinW", sinW.length, uint64_t(w / 2), "half the length");
  const auto cosH = typedArg<double>(info[8], fn, "cosH");
  needLength(env, fn, "cosH", cosH.length, uint64_t(h / 2), "half the length");
  const auto sinH = typedArg<double>(info[9], fn, "sinH");
  needLength(env, fn, "sinH", sinH.length, uint64_t(h / 2), "half the length");
  needLength(env, fn, "re", re.length, uint64_t(w) * uint64_t(h), "w × h");
  needLength(env, fn, "im", im.length, uint64_t(w) * uint64_t(h), "w × h");
  const auto revW = reversal(w);
  const auto revH = reversal(h);
  // Rows: turned into the columns of a copy (transposed), transformed as lanes, and turned back;
  // the copy is kept per thread (the coarse search makes hundreds of these a search).
  thread_local std::vector<double> tRe, tIm;
  auto rows = [&] {
    if (count < 4) {
      // A row or two (the audio's one long row): in place, one lane each.
      for (int64_t y = 0; y < count; y++) fftLanes(re.data + y * w, im.data + y * w, w, 1, 1, cosW.data, sinW.data, revW.data(), inverse);
      return;
    }
    if (tRe.size() < size_t(w * count)) {
      tRe.resize(size_t(w * count));
      tIm.resize(size_t(w * count));
    }
    for (int64_t y = 0; y < count; y++)
      for (int64_t x = 0; x < w; x++) {
        tRe[size_t(x * count + y)] = re.data[y * w + x];
        tIm[size_t(x * count + y)] = im.data[y * w + x];
      }
    fftLanes(tRe.data(), tIm.data(), w, count, count, cosW.data, sinW.data, revW.data(), inverse);
    for (int64_t y = 0; y < count; y++)
      for (int64_t x = 0; x < w; x++) {
        re.data[y * w + x] = tRe[size_t(x * count + y)];
        im.data[y * w + x] = tIm[size_t(x * count + y)];
      }
  };
  auto columns = [&] { fftLanes(re.data, im.data, h, w, w, cosH.data, sinH.data, revH.data(), inverse); };
  if (!inverse) rows();
  columns();
  if (inverse) rows();
  return env.Undefined();
}

Napi::Value SpectrumCorrelate(const Napi::CallbackInfo& info) {
  static const char* fn = "spectrumCorrelate";
  Napi::Env env = info.Env();
  const auto iRe = typedArg<double>(info[0], fn, "iRe");
  const auto iIm = typedArg<double>(info[1], fn, "iIm");
  const auto tRe = typedArg<double>(info[2], fn, "tRe");
  const auto tIm = typedArg<double>(info[3], fn, "tIm");
  const auto oRe = typedArg<double>(info[4], fn, "outRe");
  const auto oIm = typedArg<double>(info[5], fn, "outIm");
  const size_t n = iRe.length;
  needLength(env, fn, "iIm", iIm.length, n, "iRe");
  needLength(env, fn, "tRe", tRe.length, n, "iRe");
  needLength(env, fn, "tIm", tIm.length, n, "iRe");
  needLength(env, fn, "outRe", oRe.length, n, "iRe");
  needLength(env, fn, "outIm", oIm.length, n, "iRe");
  const double dn = double(n);
  // Both parts first, then stored: the outputs may be the inputs.
  for (size_t i = 0; i < n; i++) {
    const double r = (iRe.data[i] * tRe.data[i] + iIm.data[i] * tIm.data[i]) / dn;
    const double m = (iIm.data[i] * tRe.data[i] - iRe.data[i] * tIm.data[i]) / dn;
    oRe.data[i] = r;
    oIm.data[i] = m;
  }
  return env.Undefined();
}

}  // namespace vk
