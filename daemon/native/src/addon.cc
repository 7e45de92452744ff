// Module registration. Every export goes through Guard so that a C++ failure (bad_alloc on a huge
// request, say) surfaces as a JS exception instead of terminating the daemon.
#include <napi.h>

#include <new>
#include <string>

#include "common.h"
#include "kernels.h"
#include "simd.h"

namespace {

using Kernel = Napi::Value (*)(const Napi::CallbackInfo&);

template <Kernel K>
Napi::Value Guard(const Napi::CallbackInfo& info) {
  try {
    return K(info);
  } catch (const Napi::Error&) {
    throw;  // already a JS exception; node-addon-api rethrows it into JS
  } catch (const std::bad_alloc&) {
    throw Napi::RangeError::New(info.Env(), "vidkompy_kernels: out of memory for this request; use smaller inputs");
  } catch (const std::exception& e) {
    throw Napi::Error::New(info.Env(), std::string("vidkompy_kernels: ") + e.what());
  }
}

const char* simdName(vk::Simd s) { return s == vk::Simd::Avx2 ? "avx2" : "baseline"; }

Napi::Value SimdLevel(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), simdName(vk::simdLevel())); }

// Tests use this to check that every instruction set returns the same bits.
Napi::Value SetSimdLevel(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::string want = info[0].IsString() ? info[0].As<Napi::String>().Utf8Value() : "";
  vk::Simd level;
  if (want == "auto") level = vk::cpuHasAvx2() ? vk::Simd::Avx2 : vk::Simd::Baseline;
  else if (want == "baseline") level = vk::Simd::Baseline;
  else if (want == "avx2") level = vk::Simd::Avx2;
  else throw Napi::TypeError::New(env, "setSimdLevel: level must be 'auto', 'baseline' or 'avx2'");
  if (level == vk::Simd::Avx2 && !vk::cpuHasAvx2()) throw Napi::RangeError::New(env, "setSimdLevel: this CPU has no AVX2");
  vk::simdSetting().store(int(level));
  return Napi::String::New(env, simdName(level));
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("batchDot", Napi::Function::New<Guard<vk::BatchDot>>(env, "batchDot"));
  exports.Set("hamming64", Napi::Function::New<Guard<vk::Hamming64>>(env, "hamming64"));
  exports.Set("bandedPath", Napi::Function::New<Guard<vk::BandedPath>>(env, "bandedPath"));
  exports.Set("dtwBand", Napi::Function::New<Guard<vk::DtwBand>>(env, "dtwBand"));
  exports.Set("savitzkyGolay", Napi::Function::New<Guard<vk::SavitzkyGolay>>(env, "savitzkyGolay"));
  exports.Set("nccGrid", Napi::Function::New<Guard<vk::NccGrid>>(env, "nccGrid"));
  exports.Set("shiftCosts", Napi::Function::New<Guard<vk::ShiftCosts>>(env, "shiftCosts"));
  exports.Set("nccWarp", Napi::Function::New<Guard<vk::NccWarp>>(env, "nccWarp"));
  exports.Set("resizeArea", Napi::Function::New<Guard<vk::ResizeArea>>(env, "resizeArea"));
  exports.Set("fft2d", Napi::Function::New<Guard<vk::Fft2d>>(env, "fft2d"));
  exports.Set("spectrumCorrelate", Napi::Function::New<Guard<vk::SpectrumCorrelate>>(env, "spectrumCorrelate"));
  exports.Set("cutGray", Napi::Function::New<Guard<vk::CutGray>>(env, "cutGray"));
  exports.Set("simdLevel", Napi::Function::New<Guard<SimdLevel>>(env, "simdLevel"));
  exports.Set("setSimdLevel", Napi::Function::New<Guard<SetSimdLevel>>(env, "setSimdLevel"));
  // Bumped whenever a kernel's contract changes, so kernels.ts can refuse a stale build.
  exports.Set("abiVersion", Napi::Number::New(env, 8));
  exports.Set("threads", Napi::Number::New(env, vk::hardwareThreads()));
  return exports;
}

}  // namespace

NODE_API_MODULE(vidkompy_kernels, Init)
