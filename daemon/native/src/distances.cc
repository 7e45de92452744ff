// Vector distance kernels: frameDistances (one fg vector against many bg vectors), batchDot (unit
// vector dot products, full or banded) and hamming64 (packed fingerprints).
#include <string>
#include <type_traits>

#include "common.h"
#include "kernels.h"
#include "jobs.h"
#include "simd.h"

namespace vk {

// Shared with the per-ISA loops (jobs.h).
bool flatF32(const float* x, const uint8_t* mask, size_t dim) {
  // Exact, so a flat frame is always recognised (a variance test would see rounding noise); stops
  // at the first difference, which on real frames comes within a few elements.
  size_t k = 0;
  if (mask)
    while (k < dim && !mask[k]) k++;
  if (k >= dim) return true;
  const float ref = x[k];
  for (; k < dim; k++)
    if ((!mask || mask[k]) && x[k] != ref) return false;
  return true;
}

double nccDistance(double cov, double varF, double varB) {
  const double d = 1 - cov / std::sqrt(varF * varB);
  return d < 0 ? 0 : d > 2 ? 2 : d;
}

namespace {

// Spawning a thread costs tens of microseconds; below this many element operations per thread it
// does not pay.
constexpr double kMinWorkPerThread = 1 << 17;

bool useAvx2() { return simdLevel() == Simd::Avx2; }

void distancesF32(const float* fg, const float* bg, const uint8_t* mask, size_t bgCount, size_t dim, Metric metric, double* out) {
  F32Job j{bg, nullptr, nullptr, mask, nullptr, dim, 0, 0, metric, out};
  std::vector<double> fd(dim), w, fc;
  for (size_t k = 0; k < dim; k++) fd[k] = static_cast<double>(fg[k]);
  j.fd = fd.data();
  if (mask) {
    w.resize(dim);
    for (size_t k = 0; k < dim; k++) w[k] = mask[k] ? 1.0 : 0.0;
    j.w = w.data();
  }
  if (metric == Metric::Ncc) {
    for (size_t k = 0; k < dim; k++) j.n += (!mask || mask[k]) ? 1 : 0;
    if (j.n == 0 || flatF32(fg, mask, dim)) {
      for (size_t i = 0; i < bgCount; i++) out[i] = 1;
      return;
    }
    // Same operations as the twin: Σ w·f in lane order, then centre, then Σ fc² in lane order.
    double l[kLanes] = {0, 0, 0, 0, 0, 0, 0, 0}, tail = 0;
    const size_t end = dim - dim % kLanes;
    for (size_t k = 0; k < end; k++) l[k % kLanes] += mask ? w[k] * fd[k] : fd[k];
    for (size_t k = end; k < dim; k++) tail += mask ? w[k] * fd[k] : fd[k];
    const double mf = combine(l, tail) / j.n;
    fc.resize(dim);
    for (size_t k = 0; k < dim; k++) fc[k] = (!mask || mask[k]) ? fd[k] - mf : 0.0;
    std::fill(l, l + kLanes, 0.0);
    tail = 0;
    for (size_t k = 0; k < end; k++) l[k % kLanes] += fc[k] * fc[k];
    for (size_t k = end; k < dim; k++) tail += fc[k] * fc[k];
    j.varF = combine(l, tail);
    j.fc = fc.data();
  }
  const double work = double(bgCount) * dim * (metric == Metric::Ncc ? 2 : 1);
  const bool wide = useAvx2();
  parallelFor(bgCount, work, kMinWorkPerThread, [&](size_t b0, size_t b1) {
    wide ? avx2::f32Rows(j, b0, b1) : baseline::f32Rows(j, b0, b1);
  });
}

void distancesU8(const uint8_t* fg, const uint8_t* bg, const uint8_t* mask, size_t bgCount, size_t dim, Metric metric, double* out) {
  std::vector<uint8_t> fm(dim), m255(dim);
  uint64_t n = 0, sf = 0, sff = 0;
  for (size_t k = 0; k < dim; k++) {
    const bool use = !mask || mask[k];
    fm[k] = use ? fg[k] : 0;
    m255[k] = use ? 0xFF : 0;
    n += use;
    sf += fm[k];
    sff += uint64_t(fm[k]) * fm[k];
  }
  U8Job j{fm.data(), m255.data(), bg, dim, metric, double(n), double(sf), 0, out};
  if (metric == Metric::Ncc) {
    if (n == 0) {
      for (size_t i = 0; i < bgCount; i++) out[i] = 1;
      return;
    }
    j.varF = double(sff) - (j.sf * j.sf) / j.n;
  }
  const double work = double(bgCount) * dim * (metric == Metric::Ncc ? 2 : 1);
  const bool wide = useAvx2();
  parallelFor(bgCount, work, kMinWorkPerThread, [&](size_t b0, size_t b1) {
    wide ? avx2::u8Rows(j, b0, b1) : baseline::u8Rows(j, b0, b1);
  });
}

}  // namespace

Napi::Value FrameDistances(const Napi::CallbackInfo& info) {
  static const char* fn = "frameDistances";
  Napi::Env env = info.Env();
  const bool f32 = isTypedArrayOf(info[0], napi_float32_array);
  if (!f32 && !isTypedArrayOf(info[0], napi_uint8_array))
    typeError(env, std::string(fn) + ": fg must be a Float32Array or Uint8Array (got " + describe(info[0]) + ")");
  if (!isTypedArrayOf(info[1], f32 ? napi_float32_array : napi_uint8_array))
    typeError(env, std::string(fn) + ": bg must be a " + (f32 ? "Float32Array" : "Uint8Array") + " like fg (got " +
                       describe(info[1]) + ")");
  const size_t bgCount = size_t(intArg(info[2], fn, "bgCount"));
  const size_t dim = size_t(intArg(info[3], fn, "dim"));
  if (!info[4].IsString()) typeError(env, std::string(fn) + ": metric must be 'sad', 'ssd' or 'ncc'");
  const std::string ms = info[4].As<Napi::String>().Utf8Value();
  Metric metric;
  if (ms == "sad") metric = Metric::Sad;
  else if (ms == "ssd") metric = Metric::Ssd;
  else if (ms == "ncc") metric = Metric::Ncc;
  else typeError(env, std::string(fn) + ": metric must be 'sad', 'ssd' or 'ncc' (got '" + ms + "')");
  const uint8_t* mask = nullptr;
  if (info.Length() > 5 && !info[5].IsUndefined() && !info[5].IsNull()) {
    auto m = typedArg<uint8_t>(info[5], fn, "mask");
    if (m.length != dim)
      rangeError(env, std::string(fn) + ": mask has " + std::to_string(m.length) + " elements but dim is " + std::to_string(dim));
    mask = m.data;
  }
  const size_t fgLen = info[0].As<Napi::TypedArray>().ElementLength();
  if (fgLen != dim)
    rangeError(env, std::string(fn) + ": fg has " + std::to_string(fgLen) + " elements but dim is " + std::to_string(dim));
  needLength(env, fn, "bg", info[1].As<Napi::TypedArray>().ElementLength(), uint64_t(bgCount) * dim, "bgCount*dim");

  auto out = Napi::Float64Array::New(env, bgCount);
  double* o = out.Data();
  if (f32) {
    distancesF32(info[0].As<Napi::Float32Array>().Data(), info[1].As<Napi::Float32Array>().Data(), mask, bgCount, dim, metric, o);
  } else {
    distancesU8(info[0].As<Napi::Uint8Array>().Data(), info[1].As<Napi::Uint8Array>().Data(), mask, bgCount, dim, metric, o);
  }
  return out;
}

Napi::Value BatchDot(const Napi::CallbackInfo& info) {
  static const char* fn = "batchDot";
  Napi::Env env = info.Env();
  auto a = typedArg<float>(info[0], fn, "a");
  const size_t aRows = size_t(intArg(info[1], fn, "aRows"));
  auto b = typedArg<float>(info[2], fn, "b");
  const size_t bRows = size_t(intArg(info[3], fn, "bRows"));
  const size_t dim = size_t(intArg(info[4], fn, "dim"));
  needLength(env, fn, "a", a.length, uint64_t(aRows) * dim, "aRows*dim");
  needLength(env, fn, "b", b.length, uint64_t(bRows) * dim, "bRows*dim");

  if (info.Length() <= 5 || info[5].IsUndefined() || info[5].IsNull()) {
    const uint64_t total = uint64_t(aRows) * bRows;
    if (total > 0xFFFFFFFFull) rangeError(env, std::string(fn) + ": aRows*bRows is too large for one matrix; pass pairs for a band");
    auto out = Napi::Float32Array::New(env, size_t(total));
    const DotJob j{a.data, b.data, dim, bRows, nullptr, nullptr, nullptr, nullptr, out.Data()};
    const bool wide = useAvx2();
    parallelFor(aRows, double(total) * dim, kMinWorkPerThread, [&](size_t r0, size_t r1) {
      wide ? avx2::fullRows(j, r0, r1) : baseline::fullRows(j, r0, r1);
    });
    return out;
  }

  if (!info[5].IsObject() || info[5].IsTypedArray())
    typeError(env, std::string(fn) + ": pairs must be an object { aIndex, bStart, bCount } of Int32Arrays (got " +
                       describe(info[5]) + ")");
  Napi::Object pairs = info[5].As<Napi::Object>();
  auto aIndex = typedArg<int32_t>(pairs.Get("aIndex"), fn, "pairs.aIndex");
  auto bStart = typedArg<int32_t>(pairs.Get("bStart"), fn, "pairs.bStart");
  auto bCount = typedArg<int32_t>(pairs.Get("bCount"), fn, "pairs.bCount");
  const size_t P = aIndex.length;
  if (bStart.length != P || bCount.length != P)
    rangeError(env, std::string(fn) + ": pairs.aIndex, pairs.bStart and pairs.bCount must have the same length (got " +
                        std::to_string(P) + ", " + std::to_string(bStart.length) + ", " + std::to_string(bCount.length) + ")");
  std::vector<uint64_t> offset(P + 1, 0);
  for (size_t r = 0; r < P; r++) {
    const int64_t ai = aIndex.data[r], bs = bStart.data[r], bc = bCount.data[r];
    if (ai < 0 || uint64_t(ai) >= aRows)
      rangeError(env, std::string(fn) + ": pairs.aIndex[" + std::to_string(r) + "] = " + std::to_string(ai) +
                          " is outside [0, aRows=" + std::to_string(aRows) + ")");
    if (bs < 0 || bc < 0 || uint64_t(bs + bc) > bRows)
      rangeError(env, std::string(fn) + ": pairs row " + std::to_string(r) + " asks for b rows [" + std::to_string(bs) + ", " +
                          std::to_string(bs + bc) + ") outside [0, bRows=" + std::to_string(bRows) + ")");
    offset[r + 1] = offset[r] + uint64_t(bc);
  }
  if (offset[P] > 0xFFFFFFFFull) rangeError(env, std::string(fn) + ": pairs ask for too many dot products in one call");
  auto out = Napi::Float32Array::New(env, size_t(offset[P]));
  const DotJob j{a.data, b.data, dim, bRows, aIndex.data, bStart.data, bCount.data, offset.data(), out.Data()};
  const bool wide = useAvx2();
  parallelFor(P, double(offset[P]) * dim, kMinWorkPerThread, [&](size_t r0, size_t r1) {
    wide ? avx2::pairsRows(j, r0, r1) : baseline::pairsRows(j, r0, r1);
  });
  return out;
}

Napi::Value Hamming64(const Napi::CallbackInfo& info) {
  static const char* fn = "hamming64";
  Napi::Env env = info.Env();
  auto a = typedArg<uint64_t>(info[0], fn, "a");
  const size_t aRows = size_t(intArg(info[1], fn, "aRows"));
  auto b = typedArg<uint64_t>(info[2], fn, "b");
  const size_t bRows = size_t(intArg(info[3], fn, "bRows"));
  const size_t words = size_t(intArg(info[4], fn, "words"));
  needLength(env, fn, "a", a.length, uint64_t(aRows) * words, "aRows*words");
  needLength(env, fn, "b", b.length, uint64_t(bRows) * words, "bRows*words");
  const uint64_t total = uint64_t(aRows) * bRows;
  if (total > 0xFFFFFFFFull) rangeError(env, std::string(fn) + ": aRows*bRows is too large for one matrix; split the request");

  auto run = [&](auto* o) {
    parallelFor(aRows, double(total) * words, kMinWorkPerThread, [&](size_t r0, size_t r1) {
      for (size_t i = r0; i < r1; i++) {
        const uint64_t* ar = a.data + i * words;
        for (size_t j = 0; j < bRows; j++) {
          const uint64_t* br = b.data + j * words;
          uint32_t d = 0;
          for (size_t w = 0; w < words; w++) d += popcount64(ar[w] ^ br[w]);
          o[i * bRows + j] = static_cast<std::remove_pointer_t<decltype(o)>>(d);
        }
      }
    });
  };
  // Same rule as the twin: 16-bit results whenever the largest possible distance fits.
  if (words * 64 <= 0xFFFF) {
    auto out = Napi::Uint16Array::New(env, size_t(total));
    run(out.Data());
    return out;
  }
  auto out = Napi::Uint32Array::New(env, size_t(total));
  run(out.Data());
  return out;
}

}  // namespace vk
