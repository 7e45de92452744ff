// Mean squared difference of one frame against another moved by every shift of a square: the inner
// loop of the motion check (engine/temporal/motion.ts). Each row's pixels are summed in kLanes lanes
// with a scalar tail, over all rows, combined as in reference.ts, so both backends agree bit for bit.
#include <cmath>
#include <limits>
#include <string>

#include "common.h"
#include "kernels.h"

namespace vk {

Napi::Value ShiftCosts(const Napi::CallbackInfo& info) {
  static const char* fn = "shiftCosts";
  Napi::Env env = info.Env();
  const auto a = typedArg<float>(info[0], fn, "a");
  const auto b = typedArg<float>(info[1], fn, "b");
  const int64_t w = intArg(info[2], fn, "width", 1);
  const int64_t h = intArg(info[3], fn, "height", 1);
  needLength(env, fn, "a", a.length, uint64_t(w) * uint64_t(h), "width × height");
  needLength(env, fn, "b", b.length, uint64_t(w) * uint64_t(h), "width × height");
  const double cxd = numberArg(info[4], fn, "cx");
  const double cyd = numberArg(info[5], fn, "cy");
  if (cxd != std::floor(cxd) || cyd != std::floor(cyd) || std::fabs(cxd) > 1e9 || std::fabs(cyd) > 1e9) rangeError(env, std::string(fn) + ": cx and cy must be integers");
  const int64_t cx = int64_t(cxd), cy = int64_t(cyd);
  const int64_t r = intArg(info[6], fn, "radius");
  if (r > 1000) rangeError(env, std::string(fn) + ": radius must be at most 1000");
  const double off = numberArg(info[7], fn, "off");
  const bool masked = !(info[8].IsUndefined() || info[8].IsNull());
  View<uint8_t> mask{nullptr, 0};
  if (masked) {
    mask = typedArg<uint8_t>(info[8], fn, "mask");
    needLength(env, fn, "mask", mask.length, uint64_t(w) * uint64_t(h), "width × height");
  }
  const bool both = info[9].ToBoolean().Value();
  const int64_t S = 2 * r + 1;
  auto out = Napi::Float64Array::New(env, size_t(S * S));
  double* o = out.Data();
  const float* ad = a.data;
  const float* bd = b.data;
  const uint8_t* md = mask.data;
  for (int64_t q = 0; q < S * S; q++) {
    const int64_t dx = cx + q % S - r, dy = cy + q / S - r;
    const int64_t y0 = std::max<int64_t>(0, -dy), y1 = std::min<int64_t>(h, h - dy);
    const int64_t x0 = std::max<int64_t>(0, -dx), x1 = std::min<int64_t>(w, w - dx);
    double l[kLanes] = {0};
    double tail = 0;
    int64_t n = 0;
    const int64_t len = x1 - x0;
    const int64_t end = len > 0 ? len - len % kLanes : 0;
    for (int64_t y = y0; y < y1 && len > 0; y++) {
      const float* ra = ad + y * w + x0;
      const float* rb = bd + (y + dy) * w + dx + x0;
      if (!masked) {
        for (int64_t k = 0; k < end; k += kLanes)
          for (int j = 0; j < kLanes; j++) {
            const double d = double(ra[k + j]) - double(rb[k + j]) + off;
            l[j] += d * d;
          }
        for (int64_t k = end; k < len; k++) {
          const double d = double(ra[k]) - double(rb[k]) + off;
          tail += d * d;
        }
        n += len;
        continue;
      }
      // fg's graphics are left out where either frame's pixel is under them (`both`), bg's only in a.
      const uint8_t* ma = md + y * w + x0;
      const uint8_t* mb = md + (y + dy) * w + dx + x0;
      for (int64_t k = 0; k < end; k += kLanes)
        for (int j = 0; j < kLanes; j++) {
          const double keep = double((1 - ma[k + j]) * (both ? 1 - mb[k + j] : 1));
          const double d = double(ra[k + j]) - double(rb[k + j]) + off;
          l[j] += keep * d * d;
          n += int64_t(keep);
        }
      for (int64_t k = end; k < len; k++) {
        const double keep = double((1 - ma[k]) * (both ? 1 - mb[k] : 1));
        const double d = double(ra[k]) - double(rb[k]) + off;
        tail += keep * d * d;
        n += int64_t(keep);
      }
    }
    o[q] = n >= 16 ? combine(l, tail) / double(n) : std::numeric_limits<double>::infinity();
  }
  return out;
}

}  // namespace vk
