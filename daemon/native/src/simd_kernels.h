// No include guard on purpose: each isa_*.cc includes this once, in its own namespace.
// The vectorised loops, written once over an ISA type `I` from simd.h. Included by isa_*.cc inside
// `namespace vk::<isa>` with `using I = ...;` in scope, after any `#pragma GCC target`, so that
// everything here is compiled for that instruction set. Uses no std templates: an instantiation
// made under the pragma could be shared with (and run by) baseline code.
//
// Lane contract (see reference.ts): lane j sums elements k + j for k a multiple of 8, the last
// dim % 8 elements go to a scalar tail, then combine(). Every function keeps it.

using D8 = I::D8;

namespace {

inline size_t minz(size_t a, size_t b) { return a < b ? a : b; }

VK_INLINE double reduce(D8 acc, double tail) {
  double l[kLanes];
  I::store(l, acc);
  return combine(l, tail);
}

template <bool Masked>
VK_INLINE void f32RowsT(const F32Job& j, size_t b0, size_t b1) {
  const size_t dim = j.dim, end = dim - dim % kLanes;
  const double *fd = j.fd, *w = j.w;
  for (size_t i = b0; i < b1; i++) {
    const float* b = j.bg + i * dim;
    if (j.metric != Metric::Ncc) {
      const bool sq = j.metric == Metric::Ssd;
      D8 acc = I::zero();
      for (size_t k = 0; k < end; k += kLanes) {
        const D8 d = I::sub(I::loadd(fd + k), I::loadf(b + k));
        const D8 t = sq ? I::mul(d, d) : I::abs(d);
        acc = I::add(acc, Masked ? I::mul(I::loadd(w + k), t) : t);
      }
      double tail = 0;
      for (size_t k = end; k < dim; k++) {
        const double d = fd[k] - static_cast<double>(b[k]);
        const double t = sq ? d * d : std::fabs(d);
        tail += Masked ? w[k] * t : t;
      }
      j.out[i] = reduce(acc, tail);
      continue;
    }
    if (flatF32(b, j.mask, dim)) {
      j.out[i] = 1;
      continue;
    }
    // Two passes (mean, then centred sums): one-pass formulas cancel badly for large offsets.
    D8 s = I::zero();
    for (size_t k = 0; k < end; k += kLanes) s = I::add(s, Masked ? I::mul(I::loadd(w + k), I::loadf(b + k)) : I::loadf(b + k));
    double st = 0;
    for (size_t k = end; k < dim; k++) st += Masked ? w[k] * static_cast<double>(b[k]) : static_cast<double>(b[k]);
    const double mb = reduce(s, st) / j.n;
    const D8 mbv = I::set1(mb);
    D8 c = I::zero(), v = I::zero();
    for (size_t k = 0; k < end; k += kLanes) {
      const D8 d = I::sub(I::loadf(b + k), mbv);
      c = I::add(c, I::mul(I::loadd(j.fc + k), d));
      const D8 dd = I::mul(d, d);
      v = I::add(v, Masked ? I::mul(I::loadd(w + k), dd) : dd);
    }
    double ct = 0, vt = 0;
    for (size_t k = end; k < dim; k++) {
      const double d = static_cast<double>(b[k]) - mb;
      ct += j.fc[k] * d;
      vt += Masked ? w[k] * (d * d) : d * d;
    }
    j.out[i] = nccDistance(reduce(c, ct), j.varF, reduce(v, vt));
  }
}

// out[n] = a · b[n] for NB rows of b at once: a is converted once per block, and the NB
// independent accumulators hide the add latency.
template <int NB>
VK_INLINE void dotN(const float* a, const float* const* b, size_t dim, float* out) {
  D8 acc[NB];
  for (int n = 0; n < NB; n++) acc[n] = I::zero();
  const size_t end = dim - dim % kLanes;
  for (size_t k = 0; k < end; k += kLanes) {
    const D8 av = I::loadf(a + k);
    for (int n = 0; n < NB; n++) acc[n] = I::add(acc[n], I::mul(av, I::loadf(b[n] + k)));
  }
  for (int n = 0; n < NB; n++) {
    double tail = 0;
    for (size_t k = end; k < dim; k++) tail += static_cast<double>(a[k]) * static_cast<double>(b[n][k]);
    out[n] = static_cast<float>(reduce(acc[n], tail));
  }
}

// a · (count consecutive rows of b), into out[0 .. count).
VK_INLINE void dotRun(const float* a, const float* b, size_t count, size_t dim, float* out) {
  size_t c = 0;
  for (; c + kDotBlock <= count; c += kDotBlock) {
    const float* bs[kDotBlock];
    for (int n = 0; n < kDotBlock; n++) bs[n] = b + (c + n) * dim;
    dotN<kDotBlock>(a, bs, dim, out + c);
  }
  for (; c < count; c++) {
    const float* bs[1] = {b + c * dim};
    dotN<1>(a, bs, dim, out + c);
  }
}

// Per-chunk 32-bit sums (pmaddwd / psadbw friendly); 16384 · 255² < 2^32.
constexpr size_t kU8Chunk = 16384;

}  // namespace

void f32Rows(const F32Job& j, size_t r0, size_t r1) {
  if (j.w)
    f32RowsT<true>(j, r0, r1);
  else
    f32RowsT<false>(j, r0, r1);
}

void u8Rows(const U8Job& j, size_t b0, size_t b1) {
  const size_t dim = j.dim;
  const uint8_t *fm = j.fm, *m = j.m255;
  for (size_t i = b0; i < b1; i++) {
    const uint8_t* b = j.bg + i * dim;
    uint64_t s1 = 0, s2 = 0, s3 = 0;
    for (size_t c0 = 0; c0 < dim; c0 += kU8Chunk) {
      const size_t c1 = minz(dim, c0 + kU8Chunk);
      int32_t a1 = 0, a2 = 0, a3 = 0;
      if (j.metric == Metric::Sad) {
        for (size_t k = c0; k < c1; k++) {
          const int32_t d = int32_t(fm[k]) - int32_t(b[k] & m[k]);
          a1 += d < 0 ? -d : d;
        }
      } else if (j.metric == Metric::Ssd) {
        for (size_t k = c0; k < c1; k++) {
          const int32_t d = int32_t(fm[k]) - int32_t(b[k] & m[k]);
          a1 += d * d;
        }
      } else {
        for (size_t k = c0; k < c1; k++) {
          const int16_t bm = int16_t(b[k] & m[k]);
          a1 += bm;
          a2 += int32_t(bm) * bm;
          a3 += int32_t(bm) * int16_t(fm[k]);
        }
      }
      s1 += uint32_t(a1);
      s2 += uint32_t(a2);
      s3 += uint32_t(a3);
    }
    if (j.metric != Metric::Ncc) {
      j.out[i] = static_cast<double>(s1);
      continue;
    }
    const double sb = double(s1);
    const double varB = double(s2) - (sb * sb) / j.n;
    const double cov = double(s3) - (j.sf * sb) / j.n;
    j.out[i] = (j.varF <= 0 || varB <= 0) ? 1 : nccDistance(cov, j.varF, varB);
  }
}

void pairsRows(const DotJob& j, size_t r0, size_t r1) {
  for (size_t r = r0; r < r1; r++)
    dotRun(j.a + size_t(j.aIndex[r]) * j.dim, j.b + size_t(j.bStart[r]) * j.dim, size_t(j.bCount[r]), j.dim, j.out + j.offset[r]);
}

void fullRows(const DotJob& j, size_t r0, size_t r1) {
  // b is walked in tiles that stay in cache while every a row of this share visits them.
  size_t tile = (256 * 1024) / (j.dim ? j.dim * sizeof(float) : 1);
  if (tile < size_t(kDotBlock)) tile = kDotBlock;
  for (size_t t0 = 0; t0 < j.bRows; t0 += tile) {
    const size_t t1 = minz(j.bRows, t0 + tile);
    for (size_t i = r0; i < r1; i++) dotRun(j.a + i * j.dim, j.b + t0 * j.dim, t1 - t0, j.dim, j.out + i * j.bRows + t0);
  }
}
