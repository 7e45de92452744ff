// Entry points registered by addon.cc. Each validates its arguments (throwing JS TypeError /
// RangeError) and returns a fresh typed array or object.
#pragma once

#include <napi.h>

namespace vk {

Napi::Value BatchDot(const Napi::CallbackInfo& info);
Napi::Value Hamming64(const Napi::CallbackInfo& info);
Napi::Value BandedPath(const Napi::CallbackInfo& info);
Napi::Value DtwBand(const Napi::CallbackInfo& info);
Napi::Value SavitzkyGolay(const Napi::CallbackInfo& info);
Napi::Value NccGrid(const Napi::CallbackInfo& info);
Napi::Value ShiftCosts(const Napi::CallbackInfo& info);
Napi::Value NccWarp(const Napi::CallbackInfo& info);
Napi::Value ResizeArea(const Napi::CallbackInfo& info);
Napi::Value Fft2d(const Napi::CallbackInfo& info);
Napi::Value SpectrumCorrelate(const Napi::CallbackInfo& info);
Napi::Value CutGray(const Napi::CallbackInfo& info);

}  // namespace vk
