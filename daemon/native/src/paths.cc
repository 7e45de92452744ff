// Least-cost paths through banded cost matrices: bandedPath (the engine's monotonic DP with a rate
// prior) and dtwBand (classic / subsequence DTW with optional cuts). Both are sequential by nature
// (row r needs row r − 1), so they run on one thread; memory is O(rows × stride).
#include <limits>
#include <memory>
#include <string>

#include "common.h"
#include "kernels.h"
#include "simd.h"

namespace vk {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

struct Band {
  const float* cost;
  size_t rows;
  const int32_t* lo;
  const int32_t* width;
  size_t stride;
};

// Arguments 0..4 of both path kernels: cost, rows, lo, width, stride.
Band bandArgs(const Napi::CallbackInfo& info, const char* fn) {
  Napi::Env env = info.Env();
  auto cost = typedArg<float>(info[0], fn, "cost");
  const size_t rows = size_t(intArg(info[1], fn, "rows"));
  auto lo = typedArg<int32_t>(info[2], fn, "lo");
  auto width = typedArg<int32_t>(info[3], fn, "width");
  const size_t stride = size_t(intArg(info[4], fn, "stride"));
  needLength(env, fn, "lo", lo.length, rows, "rows");
  needLength(env, fn, "width", width.length, rows, "rows");
  for (size_t r = 0; r < rows; r++)
    if (width.data[r] < 1 || size_t(width.data[r]) > stride)
      rangeError(env, std::string(fn) + ": width[" + std::to_string(r) + "] = " + std::to_string(width.data[r]) +
                          " must be in [1, stride=" + std::to_string(stride) + "]");
  if (rows > 0) needLength(env, fn, "cost", cost.length, uint64_t(rows - 1) * stride + size_t(width.data[rows - 1]), "(rows-1)*stride+width[rows-1]");
  return {cost.data, rows, lo.data, width.data, stride};
}

}  // namespace

Napi::Value BandedPath(const Napi::CallbackInfo& info) {
  static const char* fn = "bandedPath";
  Napi::Env env = info.Env();
  const Band band = bandArgs(info, fn);
  const double rate = numberArg(info[5], fn, "rate");
  const int64_t maxStep = intArg(info[6], fn, "maxStep");
  const double lambda = numberArg(info[7], fn, "lambda");
  const size_t rows = band.rows, stride = band.stride;
  const float* cost = band.cost;
  const int32_t *lo = band.lo, *width = band.width;

  auto out = Napi::Int32Array::New(env, rows);
  if (rows == 0) return out;
  // Only cells inside each row's band are ever written or read, so no initialisation.
  std::unique_ptr<int32_t[]> back(new int32_t[rows * stride]);
  std::vector<double> prevV(stride, kInf), curV(stride), bestV(stride), argV(stride);
  double* prev = prevV.data();
  double* cur = curV.data();
  double* best = bestV.data();
  double* arg = argV.data();  // predecessor column as a double, so it blends along with best
  for (int32_t c = 0; c < width[0]; c++) prev[c] = cost[c];
  const double fallbackPenalty = lambda * double(maxStep);
  for (size_t r = 1; r < rows; r++) {
    const int64_t dl = int64_t(lo[r]) - lo[r - 1];
    const int64_t wp = width[r - 1], w = width[r];
    for (int64_t c = 0; c < w; c++) {
      best[c] = kInf;
      arg[c] = -1;
    }
    // Step-major: for each step, every column it can serve, so the inner loop is a branch-free run
    // over consecutive columns. Each column still sees its steps in increasing order (ties go to
    // the smallest step, as in the twin); steps whose predecessor column lies outside row r − 1's
    // band are skipped exactly like the twin's `continue` / `break`.
    const int64_t sLo = std::max<int64_t>(0, dl - (wp - 1));
    const int64_t sHi = std::min<int64_t>(maxStep, w - 1 + dl);
    for (int64_t s = sLo; s <= sHi; s++) {
      const double pen = lambda * std::fabs(double(s) - rate);
      const int64_t cA = std::max<int64_t>(0, s - dl), cB = std::min<int64_t>(w, s - dl + wp);
      const int64_t shift = dl - s;  // predecessor column of c is c + shift
      const double* src = prev + shift;
      int64_t c = cA;
#if VK_X86
      const __m128d penv = _mm_set1_pd(pen), two = _mm_set1_pd(2);
      __m128d idx = _mm_set_pd(double(c + 1 + shift), double(c + shift));
      for (; c + 2 <= cB; c += 2) {
        const __m128d v = _mm_add_pd(_mm_loadu_pd(src + c), penv);
        const __m128d b = _mm_loadu_pd(best + c);
        const __m128d lt = _mm_cmplt_pd(v, b);
        _mm_storeu_pd(best + c, _mm_blendv_pd(b, v, lt));
        _mm_storeu_pd(arg + c, _mm_blendv_pd(_mm_loadu_pd(arg + c), idx, lt));
        idx = _mm_add_pd(idx, two);
      }
#endif
      for (; c < cB; c++) {
        const double v = src[c] + pen;
        const bool lt = v < best[c];
        best[c] = lt ? v : best[c];
        arg[c] = lt ? double(c + shift) : arg[c];
      }
    }
    const float* costRow = cost + r * stride;
    int32_t* backRow = back.get() + r * stride;
    for (int64_t c = 0; c < w; c++) {
      double b = best[c];
      int32_t a = int32_t(arg[c]);
      if (a < 0) {  // no predecessor within reach: continue from the nearest column of row r − 1
        a = int32_t(std::min<int64_t>(wp - 1, std::max<int64_t>(0, c + dl)));
        b = prev[a] + fallbackPenalty;
      }
      cur[c] = b + double(costRow[c]);
      backRow[c] = a;
    }
    std::swap(prev, cur);
  }
  int32_t* path = out.Data();
  int64_t c = 0;
  for (int64_t k = 1; k < width[rows - 1]; k++)
    if (prev[k] < prev[c]) c = k;
  for (size_t r = rows; r-- > 0;) {
    path[r] = int32_t(lo[r] + c);
    if (r > 0) c = back[r * stride + size_t(c)];
  }
  return out;
}

namespace {

// Back-pointer codes; a value >= 0 is a jump from that band offset of row r − 1.
constexpr int32_t kDiag = -1, kVert = -2, kHoriz = -3, kStart = -4, kNone = -5;

struct DtwOpts {
  bool openBegin = false;
  bool openEnd = false;
  bool jumps = false;
  double jumpPenalty = 0;
};

DtwOpts dtwOpts(const Napi::Value& v, const char* fn) {
  DtwOpts o;
  if (v.IsUndefined() || v.IsNull()) return o;
  if (!v.IsObject() || v.IsArray() || v.IsTypedArray())
    typeError(v.Env(), std::string(fn) + ": opts must be an object { openBegin?, openEnd?, jumpPenalty? } (got " + describe(v) + ")");
  Napi::Object obj = v.As<Napi::Object>();
  auto flag = [&](const char* key) {
    Napi::Value f = obj.Get(key);
    if (f.IsUndefined()) return false;
    if (!f.IsBoolean()) typeError(v.Env(), std::string(fn) + ": opts." + key + " must be a boolean (got " + describe(f) + ")");
    return f.As<Napi::Boolean>().Value();
  };
  o.openBegin = flag("openBegin");
  o.openEnd = flag("openEnd");
  Napi::Value jp = obj.Get("jumpPenalty");
  if (!jp.IsUndefined()) {
    o.jumps = true;
    o.jumpPenalty = numberArg(jp, fn, "opts.jumpPenalty");
    if (o.jumpPenalty < 0) rangeError(v.Env(), std::string(fn) + ": opts.jumpPenalty must be >= 0");
  }
  return o;
}

}  // namespace

Napi::Value DtwBand(const Napi::CallbackInfo& info) {
  static const char* fn = "dtwBand";
  Napi::Env env = info.Env();
  const Band band = bandArgs(info, fn);
  const DtwOpts opts = dtwOpts(info[5], fn);
  const size_t rows = band.rows, stride = band.stride;
  const float* cost = band.cost;
  const int32_t *lo = band.lo, *width = band.width;

  Napi::Object result = Napi::Object::New(env);
  auto pathArr = Napi::Int32Array::New(env, rows);
  Napi::Array jumpsArr = Napi::Array::New(env);
  result.Set("path", pathArr);
  if (rows == 0) {
    result.Set("cost", Napi::Number::New(env, 0));
    result.Set("start", Napi::Number::New(env, -1));
    result.Set("end", Napi::Number::New(env, -1));
    result.Set("jumps", jumpsArr);
    return result;
  }

  // Only cells inside each row's band are ever written or read, so no initialisation.
  std::unique_ptr<int32_t[]> back(new int32_t[rows * stride]);
  std::vector<double> prevV(stride, kInf), curV(stride, kInf), jumpV(opts.jumps ? stride : 0);
  std::vector<int32_t> fromV(opts.jumps ? stride : 0);
  double* prev = prevV.data();
  double* cur = curV.data();

  for (int32_t c = 0; c < width[0]; c++) {
    double best = kInf;
    int32_t code = kNone;
    if (opts.openBegin || c == 0) {
      best = 0;
      code = kStart;
    }
    if (c > 0 && cur[c - 1] < best) {
      best = cur[c - 1];
      code = kHoriz;
    }
    cur[c] = best + double(cost[c]);
    back[size_t(c)] = code;
  }
  std::swap(prev, cur);

  double* pm = jumpV.data();
  int32_t* pa = fromV.data();
  for (size_t r = 1; r < rows; r++) {
    const int64_t lp = lo[r - 1], wp = width[r - 1], l = lo[r], w = width[r];
    if (opts.jumps) {  // running prefix minimum of row r − 1 keeps cuts O(width) per row
      double m = prev[0];
      int32_t at = 0;
      for (int64_t i = 0; i < wp; i++) {
        if (prev[i] < m) {  // a branch on purpose: new minima are rare, so it predicts well
          m = prev[i];
          at = int32_t(i);
        }
        pm[i] = m;
        pa[i] = at;
      }
    }
    const float* costRow = cost + r * stride;
    int32_t* backRow = back.get() + r * stride;
    // Each cell needs its left neighbour, so left → min → + cost → left is a chain; it stays in
    // registers and uses selects (random-looking costs would mispredict branches half the time),
    // and everything else is worked out beside it.
    double left = kInf;
    for (int64_t c = 0; c < w; c++) {
      const int64_t j = l + c;
      const int64_t pd = j - 1 - lp, pv = j - lp;
      // Candidates in tie-break order: diagonal, vertical (independent of `left`), then
      // horizontal and jump.
      double best = (pd >= 0 && pd < wp) ? prev[pd] : kInf;
      int32_t code = best < kInf ? kDiag : kNone;
      selectLess((pv >= 0 && pv < wp) ? prev[pv] : kInf, kVert, best, code);
      double jump = kInf;
      int32_t from = kNone;
      if (opts.jumps) {
        const int64_t idx = std::min<int64_t>(pd, wp - 1);
        if (idx >= 0) {
          jump = pm[idx] + opts.jumpPenalty;
          from = pa[idx];
        }
      }
      // The value is min(left, best, jump) whatever the tie order, so only one min sits on the
      // chain; the code (who won, ties to the earlier candidate) is worked out off the chain.
      const double rest = minOf(best, jump);
      selectLess(left, kHoriz, best, code);
      selectLess(jump, from, best, code);
      left = minOf(left, rest) + double(costRow[c]);
      cur[c] = left;
      backRow[c] = code;
    }
    std::swap(prev, cur);
  }

  const int64_t wl = width[rows - 1];
  int64_t c = wl - 1;
  if (opts.openEnd) {
    c = 0;
    for (int64_t k = 1; k < wl; k++)
      if (prev[k] < prev[c]) c = k;
  }
  const double total = prev[c];
  if (!(total < kInf))
    rangeError(env, std::string(fn) +
                        ": no path reaches the end: consecutive rows' bands must overlap or touch and costs must be "
                        "finite; widen the band or set opts.jumpPenalty");

  int32_t* path = pathArr.Data();
  int64_t r = int64_t(rows) - 1;
  path[r] = int32_t(lo[r] + c);
  int64_t start = -1;
  std::vector<int64_t> jumps;  // (row, from, to) triples, last row first
  for (;;) {
    const int32_t code = back[size_t(r) * stride + size_t(c)];
    if (code == kStart) {
      start = lo[r] + c;
      break;
    }
    if (code == kHoriz) {
      c--;
      continue;
    }
    int64_t j;
    if (code == kDiag) {
      j = lo[r] + c - 1;
    } else if (code == kVert) {
      j = lo[r] + c;
    } else if (code >= 0) {
      j = lo[r - 1] + code;
      jumps.insert(jumps.end(), {r, j, lo[r] + c});
    } else {
      throw Napi::Error::New(env, std::string(fn) + ": internal error: broken back-pointer chain");
    }
    r--;
    c = j - lo[r];
    path[r] = int32_t(j);
  }
  for (size_t k = jumps.size() / 3, i = 0; k-- > 0; i++) {
    Napi::Object jo = Napi::Object::New(env);
    jo.Set("row", Napi::Number::New(env, double(jumps[3 * k])));
    jo.Set("from", Napi::Number::New(env, double(jumps[3 * k + 1])));
    jo.Set("to", Napi::Number::New(env, double(jumps[3 * k + 2])));
    jumpsArr.Set(uint32_t(i), jo);
  }
  result.Set("cost", Napi::Number::New(env, total));
  result.Set("start", Napi::Number::New(env, double(start)));
  result.Set("end", Napi::Number::New(env, double(path[rows - 1])));
  result.Set("jumps", jumpsArr);
  return result;
}

}  // namespace vk
