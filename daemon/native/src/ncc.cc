// Normalised cross-correlation of one zero-mean template at every position of a grid in an image:
// the inner loop of the spatial refinement (spatial.ts). Sums run in kLanes lanes per template row
// with a scalar tail, combined as in reference.ts, so both backends agree bit for bit.
#include <algorithm>
#include <cmath>
#include <string>
#include <type_traits>
#include <vector>

#include "common.h"
#include "kernels.h"

namespace vk {

namespace {

// Values whose sums and sums of squares are exact in doubles, whatever the order of the additions:
// multiples of 1/256 of magnitude at most 256 (bytes, and averages of 2x2 blocks halved up to four
// times), over fewer than kExactMax samples (squares are then multiples of 2^-16 below 2^53 in all).
constexpr double kExactMax = 2e6;

template <typename T>
bool exactValue(T v) {
  if constexpr (std::is_integral_v<T>) {
    return true;
  } else {
    const double d = double(v) * 256;
    return std::fabs(double(v)) <= 256 && std::nearbyint(d) == d;
  }
}

// Per grid position, the sum and the sum of squares of the image under the template's kept pixels,
// from prefix sums over each lattice the positions read (one per residue of the position modulo
// step): a few passes over the pixels instead of one per position. False, and nothing to use, where
// a value is not exact (the lane sums in the caller are then the reference's order, kept as is).
template <typename T>
bool latticeSums(const T* im, int64_t W, int64_t cols, int64_t rows, int64_t step, int64_t x0, int64_t y0, int64_t nx, int64_t ny, double* s, double* s2) {
  const int64_t lc = cols + (nx - 1) / step, lr = rows + (ny - 1) / step;
  if (double(lc) * double(lr) >= kExactMax) return false;
  // One lattice per residue: worth it only while they are far fewer pixels than the positions read
  // (a 7x7 grid at step 1 or 2, not at step 4, where the 16 lattices cost what they save).
  const double lattices = double(std::min(step, nx)) * double(std::min(step, ny)) * double(lc) * double(lr);
  if (lattices * 8 > double(nx) * double(ny) * double(cols) * double(rows)) return false;
  // Kept per thread between calls: a fresh megabyte each call was a page fault per 4 KB of it.
  thread_local std::vector<double> p, p2;
  p.assign(size_t((lc + 1) * (lr + 1)), 0.0);
  p2.assign(size_t((lc + 1) * (lr + 1)), 0.0);
  for (int64_t ry = 0; ry < std::min(step, ny); ry++)
    for (int64_t rx = 0; rx < std::min(step, nx); rx++) {
      // Lattice point (i, j) is pixel (x0 + rx + i*step, y0 + ry + j*step); p holds sums over [0, i) x [0, j).
      const int64_t ci = cols + (nx - 1 - rx) / step, cj = rows + (ny - 1 - ry) / step;
      for (int64_t j = 0; j < cj; j++) {
        const T* row = im + (y0 + ry + j * step) * W + x0 + rx;
        double acc = 0, acc2 = 0;
        for (int64_t i = 0; i < ci; i++) {
          const T v = row[i * step];
          if (!exactValue(v)) return false;
          acc += double(v);
          acc2 += double(v) * double(v);
          p[(j + 1) * (lc + 1) + i + 1] = p[j * (lc + 1) + i + 1] + acc;
          p2[(j + 1) * (lc + 1) + i + 1] = p2[j * (lc + 1) + i + 1] + acc2;
        }
      }
      for (int64_t dy = ry; dy < ny; dy += step)
        for (int64_t dx = rx; dx < nx; dx += step) {
          const int64_t i = dx / step, j = dy / step;
          const auto box = [&](const std::vector<double>& a) {
            return a[(j + rows) * (lc + 1) + i + cols] - a[j * (lc + 1) + i + cols] - a[(j + rows) * (lc + 1) + i] + a[j * (lc + 1) + i];
          };
          s[dy * nx + dx] = box(p);
          s2[dy * nx + dx] = box(p2);
        }
    }
  return true;
}

template <typename T>
void nccGridOf(const T* im, int64_t W, const float* t, int64_t cols, int64_t rows, int64_t step, double norm, int64_t x0, int64_t y0, int64_t nx, size_t count, double* o) {
  const double n = double(cols) * double(rows);
  const int64_t end = cols - cols % kLanes;
  // Where the image's sums are exact they come from the lattices, and each position sums only the
  // products: the same bits as summing all three in lanes (exact sums have no order), at about half
  // the cost for bytes and a third for floats.
  if (count == 0) return;
  std::vector<double> ls(count), ls2(count);
  const bool exact = latticeSums(im, W, cols, rows, step, x0, y0, nx, int64_t(count) / nx, ls.data(), ls2.data());
  parallelFor(count, double(count) * double(n), 2e5, [&](size_t b, size_t e) {
    for (size_t q = b; q < e; q++) {
      const int64_t px = x0 + int64_t(q) % nx, py = y0 + int64_t(q) / nx;
      double a[kLanes] = {0}, s[kLanes] = {0}, s2[kLanes] = {0};
      double at = 0, st = 0, s2t = 0;
      for (int64_t r = 0; r < rows; r++) {
        const T* row = im + (py + r * step) * W + px;
        const float* tr = t + r * cols;
        if (exact) {
          for (int64_t k = 0; k < end; k += kLanes)
            for (int j = 0; j < kLanes; j++) a[j] += double(tr[k + j]) * double(row[(k + j) * step]);
          for (int64_t k = end; k < cols; k++) at += double(tr[k]) * double(row[k * step]);
          continue;
        }
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
      const double sxy = combine(a, at);
      const double sy = exact ? ls[q] : combine(s, st), syy = exact ? ls2[q] : combine(s2, s2t);
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
