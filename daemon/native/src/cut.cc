// A window of a grey frame cut out at an analysis size, each output pixel the mean of a few
// bilinear taps over the area it stands for: tracking's cut of every frame it compares
// (engine/spatial/track.ts), a fifth of a tracked alignment's own time as TypeScript. The same
// arithmetic in the same order as the twin in reference.ts, rounded as Math.round and stored as a
// Uint8Array store does, so both backends return the same bytes.
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "common.h"
#include "kernels.h"

namespace vk {

namespace {

// Math.round: the nearest integer, halves up (x − floor(x) is exact for every double).
inline double jsRound(double x) {
  const double r = std::floor(x);
  return x - r >= 0.5 ? r + 1 : r;
}

// A Uint8Array store of a number: modulo 256, NaN and infinities as 0.
inline uint8_t toUint8(double v) {
  if (!std::isfinite(v)) return 0;
  double m = std::fmod(std::trunc(v), 256.0);
  if (m < 0) m += 256.0;
  return uint8_t(m);
}

struct Cut {
  int64_t iw, ih, w, h, tx, ty;
  double x, y, sx, sy;
  const int64_t* x0s;
  const double* axs;
  uint8_t* out;
};

template <typename T>
void cutRows(const T* data, const Cut& c, int64_t v0, int64_t v1) {
  int64_t rows[4];
  double ays[4];
  const double n = double(c.tx * c.ty);
  for (int64_t v = v0; v < v1; v++) {
    for (int64_t b = 0; b < c.ty; b++) {
      const double yy = c.y + (double(v) + (double(b) + 0.5) / double(c.ty)) * c.sy - 0.5;
      rows[b] = bilinearTap(yy, c.ih, ays[b]) * c.iw;
    }
    for (int64_t u = 0; u < c.w; u++) {
      double sum = 0;
      for (int64_t b = 0; b < c.ty; b++) {
        const double ay = ays[b];
        const int64_t r0 = rows[b];
        for (int64_t a = 0; a < c.tx; a++) {
          const int64_t k = u * c.tx + a;
          const int64_t p = r0 + c.x0s[k];
          const int64_t q = p + c.iw;
          const double ax = c.axs[k];
          const double top = double(data[p]) + (double(data[p + 1]) - double(data[p])) * ax;
          const double bot = double(data[q]) + (double(data[q + 1]) - double(data[q])) * ax;
          sum += top + (bot - top) * ay;
        }
      }
      c.out[v * c.w + u] = toUint8(jsRound(sum / n));
    }
  }
}

}  // namespace

Napi::Value CutGray(const Napi::CallbackInfo& info) {
  static const char* fn = "cutGray";
  Napi::Env env = info.Env();
  const ImageArg img = imageArg(info, fn, 2);
  Cut c{};
  c.iw = img.width;
  c.ih = img.height;
  c.x = numberArg(info[3], fn, "x");
  c.y = numberArg(info[4], fn, "y");
  const double cw = numberArg(info[5], fn, "cw");
  const double ch = numberArg(info[6], fn, "ch");
  c.w = intArg(info[7], fn, "w", 1);
  c.h = intArg(info[8], fn, "h", 1);
  const auto out = typedArg<uint8_t>(info[9], fn, "out");
  const int64_t at = intArg(info[10], fn, "at");
  needLength(env, fn, "out", out.length, uint64_t(at) + uint64_t(c.w) * uint64_t(c.h), "at + w × h");
  c.sx = cw / double(c.w);
  c.sy = ch / double(c.h);
  // Clamped as doubles before the conversion: a window of any finite size is a valid request.
  c.tx = int64_t(std::max(1.0, std::min(4.0, std::ceil(c.sx))));
  c.ty = int64_t(std::max(1.0, std::min(4.0, std::ceil(c.sy))));
  // Every row takes its taps at the same columns: their indices and weights once.
  std::vector<int64_t> x0s(size_t(c.w * c.tx));
  std::vector<double> axs(size_t(c.w * c.tx));
  for (int64_t u = 0; u < c.w; u++) {
    for (int64_t a = 0; a < c.tx; a++) {
      const double xx = c.x + (double(u) + (double(a) + 0.5) / double(c.tx)) * c.sx - 0.5;
      x0s[size_t(u * c.tx + a)] = bilinearTap(xx, c.iw, axs[size_t(u * c.tx + a)]);
    }
  }
  c.x0s = x0s.data();
  c.axs = axs.data();
  c.out = out.data + at;
  // Rows are independent: large cuts (a whole frame's) split across threads, the usual small ones not.
  img.pixels.visit([&](const auto* d) {
    parallelFor(size_t(c.h), double(c.w) * double(c.h) * double(c.tx * c.ty) * 8, 2e5, [&](size_t b, size_t e) { cutRows(d, c, int64_t(b), int64_t(e)); });
  });
  return env.Undefined();
}

}  // namespace vk
