// Area-average resize of an image region, computed only at every step-th column of every step-th
// row: the spatial search's resizes of full-size frames and templates (engine/image.ts). The
// per-pixel box weights come from the caller; arithmetic and rounding as in reference.ts (double
// sums stored as float after each pass), so both backends agree bit for bit.
#include <string>
#include <vector>

#include "common.h"
#include "kernels.h"

namespace vk {

namespace {

struct Area {
  int64_t stride, x0, y0, sw, sh, tx, ty, cols, rows, step;
  const int32_t* startX;
  const float* weightsX;
  const int32_t* startY;
  const float* weightsY;
};

template <typename T>
void resizeArea(const T* data, const Area& a, float* out) {
  std::vector<float> tmp(size_t(a.cols * a.sh));
  std::vector<uint8_t> need(size_t(a.sh), 0);
  for (int64_t r = 0; r < a.rows; r++)
    for (int64_t k = 0; k < a.ty; k++) need[size_t(std::min<int64_t>(a.startY[r * a.step] + k, a.sh - 1))] = 1;
  for (int64_t y = 0; y < a.sh; y++) {
    if (!need[size_t(y)]) continue;
    const int64_t row = (a.y0 + y) * a.stride + a.x0;
    for (int64_t c = 0; c < a.cols; c++) {
      const int64_t x = c * a.step;
      const int64_t s0 = row + a.startX[x];
      const float* w = a.weightsX + x * a.tx;
      double acc = 0;
      if (a.startX[x] + a.tx <= a.sw) {
        for (int64_t k = 0; k < a.tx; k++) acc += double(w[k]) * double(data[s0 + k]);
      } else {
        for (int64_t k = 0; k < a.tx; k++) acc += double(w[k]) * double(data[std::min(s0 + k, row + a.sw - 1)]);
      }
      tmp[size_t(y * a.cols + c)] = float(acc);
    }
  }
  for (int64_t r = 0; r < a.rows; r++) {
    const int64_t y = r * a.step;
    const int64_t s0 = a.startY[y];
    float* o = out + r * a.cols;
    for (int64_t k = 0; k < a.ty; k++) {
      const double w = a.weightsY[y * a.ty + k];
      if (w == 0) continue;
      const float* t = tmp.data() + std::min<int64_t>(s0 + k, a.sh - 1) * a.cols;
      for (int64_t c = 0; c < a.cols; c++) o[c] = float(double(o[c]) + w * double(t[c]));
    }
  }
}

}  // namespace

Napi::Value ResizeArea(const Napi::CallbackInfo& info) {
  static const char* fn = "resizeArea";
  Napi::Env env = info.Env();
  const ImageArg img = imageArg(info, fn, 1);
  Area a{};
  a.stride = img.width;
  const int64_t height = img.height;
  a.x0 = intArg(info[3], fn, "x0");
  a.y0 = intArg(info[4], fn, "y0");
  a.sw = intArg(info[5], fn, "sw", 1);
  a.sh = intArg(info[6], fn, "sh", 1);
  if (a.x0 + a.sw > a.stride || a.y0 + a.sh > height) rangeError(env, std::string(fn) + ": the region reaches past the image");
  const auto startX = typedArg<int32_t>(info[7], fn, "startX");
  const auto weightsX = typedArg<float>(info[8], fn, "weightsX");
  a.tx = intArg(info[9], fn, "tx", 1);
  const auto startY = typedArg<int32_t>(info[10], fn, "startY");
  const auto weightsY = typedArg<float>(info[11], fn, "weightsY");
  a.ty = intArg(info[12], fn, "ty", 1);
  const int64_t dw = intArg(info[13], fn, "dw", 1);
  const int64_t dh = intArg(info[14], fn, "dh", 1);
  a.step = intArg(info[15], fn, "step", 1);
  needLength(env, fn, "startX", startX.length, uint64_t(dw), "dw");
  needLength(env, fn, "weightsX", weightsX.length, uint64_t(dw) * uint64_t(a.tx), "dw × tx");
  needLength(env, fn, "startY", startY.length, uint64_t(dh), "dh");
  needLength(env, fn, "weightsY", weightsY.length, uint64_t(dh) * uint64_t(a.ty), "dh × ty");
  for (int64_t i = 0; i < dw; i++)
    if (startX.data[i] < 0 || startX.data[i] >= a.sw) rangeError(env, std::string(fn) + ": startX must lie inside the region");
  for (int64_t i = 0; i < dh; i++)
    if (startY.data[i] < 0 || startY.data[i] >= a.sh) rangeError(env, std::string(fn) + ": startY must lie inside the region");
  a.cols = (dw + a.step - 1) / a.step;
  a.rows = (dh + a.step - 1) / a.step;
  a.startX = startX.data;
  a.weightsX = weightsX.data;
  a.startY = startY.data;
  a.weightsY = weightsY.data;
  auto out = Napi::Float32Array::New(env, size_t(a.cols * a.rows));
  float* o = out.Data();
  for (int64_t i = 0; i < a.cols * a.rows; i++) o[i] = 0;
  img.pixels.visit([&](const auto* d) { resizeArea(d, a, o); });
  return out;
}

}  // namespace vk
