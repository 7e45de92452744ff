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

}  // namespace

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
