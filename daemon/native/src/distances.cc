// Vector kernels: batchDot (unit vector dot products, full or banded) and hamming64 (packed
// fingerprints).
#include <string>
#include <type_traits>

#include "common.h"
#include "kernels.h"
#include "jobs.h"
#include "simd.h"

namespace vk {

namespace {

// Spawning a thread costs tens of microseconds; below this many element operations per thread it
// does not pay.
constexpr double kMinWorkPerThread = 1 << 17;

bool useAvx2() { return simdLevel() == Simd::Avx2; }

}  // namespace

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
