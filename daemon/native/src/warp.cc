// NCC of a zero-mean template laid over an image at a position and scale, the image sampled
// bilinearly where each template pixel lands: tracking's hot loop (engine/spatial/track.ts), for a
// list of candidate placements at once. Sums run in the same order as reference.ts, one pixel after
// another, so both backends agree bit for bit.
#include <cmath>
#include <string>
#include <vector>

#include "common.h"
#include "kernels.h"

namespace vk {

namespace {

struct Warp {
  int64_t w, h, tw, th;
  const float* tpl;
  double norm, step, k;
};

template <typename T>
double nccAt(const T* d, const Warp& c, double x, double y, double s, int64_t* x0s, double* axs) {
  const int64_t w = c.w, h = c.h, tw = c.tw, th = c.th;
  const double n = double(tw * th);
  const double du = c.step * s * c.k;
  int64_t offCols = 0;
  double bx = (x + 0.5 * c.step * s) * c.k - 0.5;
  for (int64_t u = 0; u < tw; u++, bx += du) {
    if (bx < -0.5 || bx > double(w) - 0.5) offCols++;
    x0s[u] = bilinearTap(bx, w, axs[u]);
  }
  double sb = 0, sbb = 0, stb = 0;
  int64_t off = 0;
  for (int64_t v = 0; v < th; v++) {
    const double by = (y + (double(v) + 0.5) * c.step * s) * c.k - 0.5;
    off += offCols + (by < -0.5 || by > double(h) - 0.5 ? tw : 0);
    double ay;
    const int64_t y0 = bilinearTap(by, h, ay);
    const T* r0 = d + y0 * w;
    const T* r1 = r0 + w;
    const float* row = c.tpl + v * tw;
    for (int64_t u = 0; u < tw; u++) {
      const T* p = r0 + x0s[u];
      const T* q = r1 + x0s[u];
      const double ax = axs[u];
      const double top = double(p[0]) + (double(p[1]) - double(p[0])) * ax;
      const double bot = double(q[0]) + (double(q[1]) - double(q[0])) * ax;
      const double b = top + (bot - top) * ay;
      sb += b;
      sbb += b * b;
      stb += double(row[u]) * b;
    }
  }
  const double vb = sbb - (sb * sb) / n;
  if (vb <= 1e-6 || c.norm <= 1e-6) return 0;
  return (stb / (c.norm * std::sqrt(vb))) * (1 - double(off) / n);
}

template <typename T>
void run(const T* d, const Warp& c, const double* xs, const double* ys, const double* ss, size_t count, double* o) {
  std::vector<int64_t> x0s(size_t(c.tw));
  std::vector<double> axs(size_t(c.tw));
  for (size_t i = 0; i < count; i++) o[i] = nccAt(d, c, xs[i], ys[i], ss[i], x0s.data(), axs.data());
}

}  // namespace

Napi::Value NccWarp(const Napi::CallbackInfo& info) {
  static const char* fn = "nccWarp";
  Napi::Env env = info.Env();
  const ImageArg img = imageArg(info, fn, 2);
  Warp c{};
  c.w = img.width;
  c.h = img.height;
  const auto tpl = typedArg<float>(info[3], fn, "tpl");
  c.tw = intArg(info[4], fn, "tw", 1);
  c.th = intArg(info[5], fn, "th", 1);
  needLength(env, fn, "tpl", tpl.length, uint64_t(c.tw) * uint64_t(c.th), "tw × th");
  c.tpl = tpl.data;
  c.norm = numberArg(info[6], fn, "norm");
  c.step = numberArg(info[7], fn, "step");
  c.k = numberArg(info[8], fn, "k");
  const auto xs = typedArg<double>(info[9], fn, "xs");
  const auto ys = typedArg<double>(info[10], fn, "ys");
  const auto ss = typedArg<double>(info[11], fn, "ss");
  const size_t count = info[12].IsUndefined() ? xs.length : size_t(intArg(info[12], fn, "count"));
  needLength(env, fn, "xs", xs.length, count, "count");
  needLength(env, fn, "ys", ys.length, count, "count");
  needLength(env, fn, "ss", ss.length, count, "count");
  for (size_t i = 0; i < count; i++)
    if (!std::isfinite(xs.data[i]) || !std::isfinite(ys.data[i]) || !std::isfinite(ss.data[i])) rangeError(env, std::string(fn) + ": placements must be finite");
  auto out = Napi::Float64Array::New(env, count);
  img.pixels.visit([&](const auto* d) { run(d, c, xs.data, ys.data, ss.data, count, out.Data()); });
  return out;
}

}  // namespace vk
