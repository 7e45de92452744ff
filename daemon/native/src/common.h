// Shared helpers for the kernels: argument checking (bad requests must become JS exceptions, never
// crashes) and a tiny fork-join over std::thread.
//
// Numerics contract: every kernel sums in the same order as its TypeScript twin in reference.ts
// (8 interleaved lanes, then a fixed combine tree), with -ffp-contract=off and no fast-math, so both
// backends return bit-identical results and the engine's decisions never depend on which one ran.
#pragma once

#include <napi.h>

#include <algorithm>
#include <cstdlib>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#if defined(_MSC_VER)
#include <intrin.h>
#endif

namespace vk {

constexpr int kLanes = 8;

// Combine tree shared with reference.ts: ((l0+l1)+(l2+l3))+((l4+l5)+(l6+l7)), then the tail.
inline double combine(const double* l, double tail) {
  return ((l[0] + l[1]) + (l[2] + l[3])) + ((l[4] + l[5]) + (l[6] + l[7])) + tail;
}

[[noreturn]] inline void typeError(Napi::Env env, const std::string& msg) {
  throw Napi::TypeError::New(env, msg);
}

[[noreturn]] inline void rangeError(Napi::Env env, const std::string& msg) {
  throw Napi::RangeError::New(env, msg);
}

inline const char* typedArrayName(napi_typedarray_type t) {
  switch (t) {
    case napi_int8_array: return "Int8Array";
    case napi_uint8_array: return "Uint8Array";
    case napi_uint8_clamped_array: return "Uint8ClampedArray";
    case napi_int16_array: return "Int16Array";
    case napi_uint16_array: return "Uint16Array";
    case napi_int32_array: return "Int32Array";
    case napi_uint32_array: return "Uint32Array";
    case napi_float32_array: return "Float32Array";
    case napi_float64_array: return "Float64Array";
    case napi_bigint64_array: return "BigInt64Array";
    case napi_biguint64_array: return "BigUint64Array";
    default: return "typed array";
  }
}

inline std::string describe(const Napi::Value& v) {
  if (v.IsTypedArray()) return typedArrayName(v.As<Napi::TypedArray>().TypedArrayType());
  if (v.IsUndefined()) return "undefined";
  if (v.IsNull()) return "null";
  if (v.IsArray()) return "Array";
  if (v.IsString()) return "string";
  if (v.IsNumber()) return "number";
  if (v.IsBoolean()) return "boolean";
  if (v.IsBigInt()) return "bigint";
  if (v.IsFunction()) return "function";
  return "object";
}

template <typename T>
struct View {
  T* data;
  size_t length;
};

template <typename T>
struct ArrayKind;
template <> struct ArrayKind<float> { static constexpr napi_typedarray_type type = napi_float32_array; };
template <> struct ArrayKind<double> { static constexpr napi_typedarray_type type = napi_float64_array; };
template <> struct ArrayKind<uint8_t> { static constexpr napi_typedarray_type type = napi_uint8_array; };
template <> struct ArrayKind<int32_t> { static constexpr napi_typedarray_type type = napi_int32_array; };
template <> struct ArrayKind<uint64_t> { static constexpr napi_typedarray_type type = napi_biguint64_array; };

inline bool isTypedArrayOf(const Napi::Value& v, napi_typedarray_type t) {
  return v.IsTypedArray() && v.As<Napi::TypedArray>().TypedArrayType() == t;
}

template <typename T>
View<T> typedArg(const Napi::Value& v, const char* fn, const char* name) {
  constexpr napi_typedarray_type t = ArrayKind<T>::type;
  if (!isTypedArrayOf(v, t))
    typeError(v.Env(), std::string(fn) + ": " + name + " must be a " + typedArrayName(t) + " (got " + describe(v) + ")");
  auto a = v.As<Napi::TypedArrayOf<T>>();
  return {a.Data(), a.ElementLength()};
}

// An image of grey pixels as decoded (bytes) or resized (floats): kernels read either as it is,
// rather than have the caller widen a full-size frame to a float copy first.
struct PixelsArg {
  const uint8_t* bytes;
  const float* floats;
  size_t length;
  // Calls f with the typed pointer: one instantiation of the kernel per pixel type.
  template <typename F>
  void visit(F&& f) const {
    if (bytes) f(bytes);
    else f(floats);
  }
};

inline PixelsArg pixelsArg(const Napi::Value& v, const char* fn, const char* name) {
  if (isTypedArrayOf(v, napi_uint8_array)) {
    auto a = v.As<Napi::Uint8Array>();
    return {a.Data(), nullptr, a.ElementLength()};
  }
  if (isTypedArrayOf(v, napi_float32_array)) {
    auto a = v.As<Napi::Float32Array>();
    return {nullptr, a.Data(), a.ElementLength()};
  }
  typeError(v.Env(), std::string(fn) + ": " + name + " must be a Uint8Array or a Float32Array (got " + describe(v) + ")");
}

inline double numberArg(const Napi::Value& v, const char* fn, const char* name) {
  if (!v.IsNumber()) typeError(v.Env(), std::string(fn) + ": " + name + " must be a number (got " + describe(v) + ")");
  double x = v.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(x)) rangeError(v.Env(), std::string(fn) + ": " + name + " must be finite");
  return x;
}

// Counts, sizes and indices: integers in [min, 2^31 - 1].
inline int64_t intArg(const Napi::Value& v, const char* fn, const char* name, int64_t min = 0) {
  double x = numberArg(v, fn, name);
  if (x != std::floor(x) || x < static_cast<double>(min) || x > 2147483647.0)
    rangeError(v.Env(), std::string(fn) + ": " + name + " must be an integer >= " + std::to_string(min) + " (got " +
                            std::to_string(x) + ")");
  return static_cast<int64_t>(x);
}

inline void needLength(Napi::Env env, const char* fn, const char* name, size_t have, uint64_t need, const char* what) {
  if (have < need)
    rangeError(env, std::string(fn) + ": " + name + " has " + std::to_string(have) + " elements but " + what + " needs " +
                        std::to_string(need));
}

// An image argument as every image kernel takes it: pixels (bytes or floats), then its width and
// height (each at least minSide), at info[0..2], the pixels at least width × height long.
struct ImageArg {
  PixelsArg pixels;
  int64_t width;
  int64_t height;
};

inline ImageArg imageArg(const Napi::CallbackInfo& info, const char* fn, int64_t minSide) {
  // A braced list is evaluated left to right: the checks fail in argument order.
  ImageArg a{pixelsArg(info[0], fn, "img"), intArg(info[1], fn, "width", minSide), intArg(info[2], fn, "height", minSide)};
  needLength(info.Env(), fn, "img", a.pixels.length, uint64_t(a.width) * uint64_t(a.height), "width × height");
  return a;
}

// Where a bilinear sample at position p (pixel centres at whole numbers) reads along a row or column
// of `size` pixels (at least 2), p clamped to them: the first of its two pixels, returned, and the
// second's weight in `frac`. Tracking's warped NCC and its frame cut sample alike.
inline int64_t bilinearTap(double p, int64_t size, double& frac) {
  const double f = p < 0 ? 0 : p > double(size - 1) ? double(size - 1) : p;
  const int64_t i0 = f >= double(size - 1) ? size - 2 : int64_t(std::floor(f));
  frac = f - double(i0);
  return i0;
}

inline unsigned popcount64(uint64_t x) {
#if defined(_MSC_VER)
  return unsigned(__popcnt64(x));
#else
  return unsigned(__builtin_popcountll(x));
#endif
}

inline unsigned hardwareThreads() {
  unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : n;
}

// The threads one call may use: VIDKOMPY_THREADS (the daemon's "threads" setting, the CLI's
// --threads) when above 0, else every hardware thread. Read per call: the setting can change while
// the pool (sized by the hardware) lives on.
inline unsigned threadBudget() {
  unsigned n = hardwareThreads();
  if (const char* e = std::getenv("VIDKOMPY_THREADS")) {
    const long v = std::strtol(e, nullptr, 10);
    if (v > 0 && static_cast<unsigned long>(v) < n) n = static_cast<unsigned>(v);
  }
  return n;
}

// A persistent pool (hardware_concurrency − 1 std::threads, started on first use) runs the chunks
// of one parallelFor at a time; the calling thread works too, so a call never waits on a worker that
// the OS has not scheduled yet. A call that finds the pool busy (another JS thread) runs inline.
// Spawning threads per call cost more than the work itself for per-frame requests.
void runChunks(size_t chunks, void (*call)(void*, size_t), void* ctx, size_t workers);

// Runs fn(begin, end) over [0, n) in contiguous chunks on up to hardware_concurrency threads.
// `work` is the total cost in element operations; below `minWorkPerThread` per thread the hand-off
// costs more than it saves, so fewer threads (or none) are used.
template <typename F>
void parallelFor(size_t n, double work, double minWorkPerThread, F&& fn) {
  size_t threads = std::min<size_t>(threadBudget(), n);
  if (minWorkPerThread > 0) threads = std::min<size_t>(threads, static_cast<size_t>(work / minWorkPerThread));
  if (threads <= 1) {
    if (n > 0) fn(size_t{0}, n);
    return;
  }
  // A few chunks per thread, so a core busy with something else delays only a small share.
  const size_t chunks = std::min<size_t>(n, threads * 4);
  using Fn = std::remove_reference_t<F>;
  struct Ctx {
    Fn* fn;
    size_t n, chunks;
  } ctx{&fn, n, chunks};
  runChunks(
      chunks,
      [](void* p, size_t c) {
        auto* x = static_cast<Ctx*>(p);
        (*x->fn)(x->n * c / x->chunks, x->n * (c + 1) / x->chunks);
      },
      &ctx, threads - 1);
}

}  // namespace vk
