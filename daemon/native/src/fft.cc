// The radix-2 FFT behind the coarse spatial search's correlations (engine/spatial/fft.ts): the
// same butterflies in the same order as the twin in reference.ts, on the caller's twiddles, so both
// backends return the same bits.
#include <string>
#include <utility>
#include <vector>

#include "common.h"
#include "kernels.h"

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

// The n values at re[off + i·stride]; cos/sin hold n/2 twiddles.
void fft1(double* re, double* im, int64_t off, int64_t stride, int64_t n, const double* cs, const double* sn, const uint32_t* rev, bool inverse) {
  if (n <= 1) return;
  for (int64_t i = 0; i < n; i++) {
    const int64_t j = rev[i];
    if (j > i) {
      const int64_t a = off + i * stride, b = off + j * stride;
      std::swap(re[a], re[b]);
      std::swap(im[a], im[b]);
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
        const int64_t a = off + (start + k) * stride;
        const int64_t b = a + half * stride;
        const double xr = re[b] * wr - im[b] * wi;
        const double xi = re[b] * wi + im[b] * wr;
        re[b] = re[a] - xr;
        im[b] = im[a] - xi;
        re[a] += xr;
        im[a] += xi;
      }
    }
  }
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
  auto rows = [&] {
    for (int64_t y = 0; y < count; y++) fft1(re.data, im.data, y * w, 1, w, cosW.data, sinW.data, revW.data(), inverse);
  };
  // Each column is gathered into a contiguous copy first: in place, every butterfly of a column
  // would touch another cache line.
  std::vector<double> colRe(static_cast<size_t>(h)), colIm(static_cast<size_t>(h));
  auto columns = [&] {
    for (int64_t x = 0; x < w; x++) {
      for (int64_t y = 0; y < h; y++) {
        colRe[size_t(y)] = re.data[y * w + x];
        colIm[size_t(y)] = im.data[y * w + x];
      }
      fft1(colRe.data(), colIm.data(), 0, 1, h, cosH.data, sinH.data, revH.data(), inverse);
      for (int64_t y = 0; y < h; y++) {
        re.data[y * w + x] = colRe[size_t(y)];
        im.data[y * w + x] = colIm[size_t(y)];
      }
    }
  };
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
  const size_t n = iRe.length;
  needLength(env, fn, "iIm", iIm.length, n, "iRe");
  needLength(env, fn, "tRe", tRe.length, n, "iRe");
  needLength(env, fn, "tIm", tIm.length, n, "iRe");
  auto re = Napi::Float64Array::New(env, n);
  auto im = Napi::Float64Array::New(env, n);
  double* r = re.Data();
  double* m = im.Data();
  const double dn = double(n);
  for (size_t i = 0; i < n; i++) {
    r[i] = (iRe.data[i] * tRe.data[i] + iIm.data[i] * tIm.data[i]) / dn;
    m[i] = (iIm.data[i] * tRe.data[i] - iRe.data[i] * tIm.data[i]) / dn;
  }
  auto out = Napi::Object::New(env);
  out.Set("re", re);
  out.Set("im", im);
  return out;
}

}  // namespace vk
