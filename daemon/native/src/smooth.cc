// Savitzky–Golay smoothing. The fit weights come from an orthonormal polynomial basis built by
// Gram–Schmidt on [-1, 1] (normal equations lose precision fast as the order grows); reference.ts
// builds the same table with the same operations, so both backends agree bit for bit.
#include <string>

#include "common.h"
#include "kernels.h"

namespace vk {
namespace {

// C[t*m + k]: weight of sample k when evaluating the degree-q least-squares fit over m samples at
// sample t.
std::vector<double> sgTable(size_t m, size_t q) {
  const double h = (double(m) - 1) / 2;
  const double scale = h > 0 ? h : 1;
  std::vector<double> x(m), v(m), Q((q + 1) * m), C(m * m);
  for (size_t k = 0; k < m; k++) x[k] = (double(k) - h) / scale;
  auto normaliseInto = [&](size_t j) {
    double s = 0;
    for (size_t k = 0; k < m; k++) s += v[k] * v[k];
    const double nrm = std::sqrt(s);
    for (size_t k = 0; k < m; k++) Q[j * m + k] = v[k] / nrm;
  };
  for (size_t k = 0; k < m; k++) v[k] = 1;
  normaliseInto(0);
  for (size_t j = 1; j <= q; j++) {
    for (size_t k = 0; k < m; k++) v[k] = x[k] * Q[(j - 1) * m + k];
    for (int pass = 0; pass < 2; pass++)  // twice is enough (Kahan–Parlett)
      for (size_t i = 0; i < j; i++) {
        const double* qi = &Q[i * m];
        double d = 0;
        for (size_t k = 0; k < m; k++) d += qi[k] * v[k];
        for (size_t k = 0; k < m; k++) v[k] -= d * qi[k];
      }
    normaliseInto(j);
  }
  for (size_t t = 0; t < m; t++)
    for (size_t k = 0; k < m; k++) {
      double s = 0;
      for (size_t j = 0; j <= q; j++) s += Q[j * m + t] * Q[j * m + k];
      C[t * m + k] = s;
    }
  return C;
}

}  // namespace

Napi::Value SavitzkyGolay(const Napi::CallbackInfo& info) {
  static const char* fn = "savitzkyGolay";
  Napi::Env env = info.Env();
  auto y = typedArg<double>(info[0], fn, "y");
  const size_t window = size_t(intArg(info[1], fn, "window", 1));
  const size_t order = size_t(intArg(info[2], fn, "order"));
  if (window % 2 == 0) rangeError(env, std::string(fn) + ": window must be odd (got " + std::to_string(window) + ")");
  if (order >= window)
    rangeError(env, std::string(fn) + ": order must be less than window (got order " + std::to_string(order) + ", window " +
                        std::to_string(window) + ")");
  const size_t n = y.length;
  auto out = Napi::Float64Array::New(env, n);
  if (n == 0) return out;
  // A series shorter than the window is fitted as one whole window.
  const size_t m = std::min(window, n);
  const size_t q = std::min(order, m - 1);
  const size_t half = (window - 1) / 2;
  const std::vector<double> C = sgTable(m, q);
  const double* yd = y.data;
  double* o = out.Data();

  auto edge = [&](size_t i) {
    const size_t s = std::min(i >= half ? i - half : 0, n - m);
    const double* c = &C[(i - s) * m];
    double acc = 0;
    for (size_t k = 0; k < m; k++) acc += c[k] * yd[s + k];
    o[i] = acc;
  };
  if (n < window) {
    for (size_t i = 0; i < n; i++) edge(i);
    return out;
  }
  for (size_t i = 0; i < half; i++) edge(i);
  for (size_t i = n - half; i < n; i++) edge(i);

  // Interior: every output uses the centre row. Accumulating a block of outputs together keeps each
  // output's own summation order (k ascending) and lets the compiler vectorise across outputs.
  const double* c = &C[half * m];
  const size_t first = half, count = n - 2 * half;
  constexpr size_t kBlock = 256;
  const size_t blocks = (count + kBlock - 1) / kBlock;
  parallelFor(blocks, double(count) * m, 1 << 17, [&](size_t b0, size_t b1) {
    double acc[kBlock];
    for (size_t b = b0; b < b1; b++) {
      const size_t i0 = first + b * kBlock;
      const size_t len = std::min(kBlock, first + count - i0);
      const double* src = yd + (i0 - half);
      for (size_t ii = 0; ii < len; ii++) acc[ii] = 0;
      for (size_t k = 0; k < m; k++) {
        const double ck = c[k];
        const double* sk = src + k;
        for (size_t ii = 0; ii < len; ii++) acc[ii] += ck * sk[ii];
      }
      for (size_t ii = 0; ii < len; ii++) o[i0 + ii] = acc[ii];
    }
  });
  return out;
}

}  // namespace vk
