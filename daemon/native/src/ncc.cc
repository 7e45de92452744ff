// Normalised cross-correlation of one zero-mean template at every position of a grid in an image:
// the inner loop of the spatial refinement (spatial.ts). Sums run in kLanes lanes per template row
// with a scalar tail, combined as in reference.ts, so both backends agree bit for bit.
#include <cmath>
#include <string>

#include "common.h"
#include "kernels.h"

namespace vk {

namespace {

template <typename T>
void nccGridOf(const T* im, int64_t W, const float* t, int64_t cols, int64_t rows, int64_t step, double norm, int64_t x0, int64_t y0, int64_t nx, size_t count, double* o) {
  const double n = double(cols) * double(rows);
  const int64_t end = cols - cols % kLanes;
  parallelFor(count, double(count) * double(n), 2e5, [&](size_t b, size_t e) {
    for (size_t q = b; q < e; q++) {
      const int64_t px = x0 + int64_t(q) % nx, py = y0 + int64_t(q) / nx;
      double a[kLanes] = {0}, s[kLanes] = {0}, s2[kLanes] = {0};
      double at = 0, st = 0, s2t = 0;
      for (int64_t r = 0; r < rows; r++) {
        const T* row = im + (py + r * step) * W + px;
        const float* tr = t + r * cols;
        for (int64_t k = 0; k < end; k += kLanes)
          for (int j = 0; j < kLanes; j++) {
            const double v = row[(k + j) * step];
            a[j] += double(tr[k + j]) * v;
            s[j] += v;
            s2[j] += v * v;
          }
        for (int64_t k = end; k < cols; k++) {
          const double v = row[k * step];
          at += double(tr[k]) * v;
          st += v;
          s2t += v * v;
        }
      }
      const double sxy = combine(a, at), sy = combine(s, st), syy = combine(s2, s2t);
      const double varI = syy - (sy * sy) / n;
      o[q] = varI <= 1e-6 || norm <= 1e-6 ? 0 : sxy / (norm * std::sqrt(varI));
    }
  });
}

}  // namespace

Napi::Value NccGrid(const Napi::CallbackInfo& info) {
  static const char* fn = "nccGrid";
  Napi::Env env = info.Env();
  const ImageArg img = imageArg(info, fn, 1);
  const int64_t W = img.width;
  const int64_t H = img.height;
  const auto tpl = typedArg<float>(info[3], fn, "tpl");
  const int64_t cols = intArg(info[4], fn, "cols", 1);
  const int64_t rows = intArg(info[5], fn, "rows", 1);
  needLength(env, fn, "tpl", tpl.length, uint64_t(cols) * uint64_t(rows), "cols × rows");
  const int64_t step = intArg(info[6], fn, "step", 1);
  const double norm = numberArg(info[7], fn, "norm");
  const int64_t x0 = intArg(info[8], fn, "x0");
  const int64_t y0 = intArg(info[9], fn, "y0");
  const int64_t nx = intArg(info[10], fn, "nx");
  const int64_t ny = intArg(info[11], fn, "ny");
  if (nx > 0 && ny > 0) {
    if (x0 + nx - 1 + (cols - 1) * step >= W) rangeError(env, std::string(fn) + ": the template at x0 + nx - 1 reaches past the image's width");
    if (y0 + ny - 1 + (rows - 1) * step >= H) rangeError(env, std::string(fn) + ": the template at y0 + ny - 1 reaches past the image's height");
  }
  const size_t count = size_t(nx) * size_t(ny);
  auto out = Napi::Float64Array::New(env, count);
  img.pixels.visit([&](const auto* im) { nccGridOf(im, W, tpl.data, cols, rows, step, norm, x0, y0, nx, count, out.Data()); });
  return out;
}

}  // namespace vk
