// AVX-512 (F/BW/VL/DQ) + VNNI matmul kernels: vpdpbusd does u8 x s8 -> int32 in one step
// without the int16 saturation of maddubs.
#include <immintrin.h>

// GCC 12's _mm512_cvtph_ps / _mm512_cvtepi32_ps expand through _mm512_undefined_ps(), which
// -Wmaybe-uninitialized reports as a use of an uninitialized variable (a false positive).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include <cstdint>
#include <cstring>

namespace toolgate::engine {
namespace {

struct Isa {
  static constexpr bool kVnni = true;
  static inline __m256i dot(__m256i u, __m256i a) {
    return _mm256_dpbusd_epi32(_mm256_setzero_si256(), u, a);
  }
  static inline __m256i add_bit4(__m256i u, uint32_t bits) {
    return _mm256_mask_add_epi8(u, static_cast<__mmask32>(bits), u, _mm256_set1_epi8(0x10));
  }
};

}  // namespace
}  // namespace toolgate::engine

#include "engine/kernels/matmul_x86.inc"

namespace toolgate::engine {
namespace {

// How far ahead of the block being decoded the packed kernels prefetch. A task's packed rows
// are one contiguous stream; without software prefetch one core pulls ~10 GB/s from DRAM here,
// with it ~14 GB/s (kernel_bench --packed, cold, Q4_1, 1 thread: 2-16 KiB ahead all do about
// as well; 512 B does nothing, 32 KiB starts to lose).
constexpr int64_t kPrefetchAhead = 4096;

template <bool kQ8, bool kQ5>
constexpr int64_t block_bytes_x16() {
  return kQ8 ? 64 + 8 * 64 : (kQ5 ? 64 + 4 * 64 + 64 : 64 + 4 * 64);
}

// ---- Q4_0/Q4_1/Q5_0/Q5_1/Q8_0 packed 16 rows wide (layout in matmul.h, pack_weights_x16) ------------
// kQ8: 8 parts of plain bytes; else 4 parts of nibble pairs (+ bit-4 masks when kQ5).
template <bool kQ8, bool kQ5, int NA>
inline void x16_tile(const uint8_t* group, int64_t nc, const QuantActs& qa, int64_t i0,
                       float* y, int64_t ldy) {
  const __m512i lo4 = _mm512_set1_epi8(0x0F);
  const __m512i bit4 = _mm512_set1_epi8(0x10);
  __m512 acc[NA];
  const int8_t* q[NA];
  const float* d[NA];
  const float* s32[NA];
  for (int t = 0; t < NA; ++t) {
    acc[t] = _mm512_setzero_ps();
    q[t] = qa.qs + (i0 + t) * qa.cols;
    d[t] = qa.d + (i0 + t) * nc;
    s32[t] = qa.s32 + (i0 + t) * nc;
  }
  for (int64_t c = 0; c < nc; ++c) {
    const uint8_t* blk = group + c * block_bytes_x16<kQ8, kQ5>();
    for (int64_t l = 0; l < block_bytes_x16<kQ8, kQ5>(); l += 64)
      _mm_prefetch(reinterpret_cast<const char*>(blk + kPrefetchAhead + l), _MM_HINT_T0);
    const __m512 dw = _mm512_cvtph_ps(_mm256_load_si256(reinterpret_cast<const __m256i*>(blk)));
    const __m512 mw =
        _mm512_cvtph_ps(_mm256_load_si256(reinterpret_cast<const __m256i*>(blk + 32)));
    __m512i lo[4], hi[4];  // kQ8: parts 0-3 and 4-7
    for (int s = 0; s < 4; ++s) {
      const __m512i v = _mm512_load_si512(blk + 64 + 64 * s);
      if constexpr (kQ8) {
        lo[s] = v;
        hi[s] = _mm512_load_si512(blk + 64 + 64 * (4 + s));
      } else {
        lo[s] = _mm512_and_si512(v, lo4);
        hi[s] = _mm512_and_si512(_mm512_srli_epi16(v, 4), lo4);
        if constexpr (kQ5) {
          uint64_t ml, mh;
          std::memcpy(&ml, blk + 64 + 4 * 64 + 8 * s, 8);
          std::memcpy(&mh, blk + 64 + 4 * 64 + 8 * (4 + s), 8);
          lo[s] = _mm512_mask_add_epi8(lo[s], _cvtu64_mask64(ml), lo[s], bit4);
          hi[s] = _mm512_mask_add_epi8(hi[s], _cvtu64_mask64(mh), hi[s], bit4);
        }
      }
    }
    for (int t = 0; t < NA; ++t) {
      // Activation bytes 4s..4s+3 meet lo[s] (elements 4s..), bytes 16+4s.. meet hi[s].
      const int32_t* a = reinterpret_cast<const int32_t*>(q[t] + 32 * c);
      __m512i isum = _mm512_dpbusd_epi32(_mm512_setzero_si512(), lo[0], _mm512_set1_epi32(a[0]));
      isum = _mm512_dpbusd_epi32(isum, hi[0], _mm512_set1_epi32(a[4]));
      for (int s = 1; s < 4; ++s) {
        isum = _mm512_dpbusd_epi32(isum, lo[s], _mm512_set1_epi32(a[s]));
        isum = _mm512_dpbusd_epi32(isum, hi[s], _mm512_set1_epi32(a[4 + s]));
      }
      acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum),
                               _mm512_mul_ps(dw, _mm512_set1_ps(d[t][c])), acc[t]);
      acc[t] = _mm512_fmadd_ps(mw, _mm512_set1_ps(s32[t][c]), acc[t]);
    }
  }
  for (int t = 0; t < NA; ++t) _mm512_storeu_ps(y + t * ldy, acc[t]);
}

template <bool kQ8, bool kQ5>
void rows_x16(const uint8_t* w, size_t, int64_t r0, int64_t r1, const QuantActs& qa,
                const float*, int64_t cols, int64_t n, float* y, int64_t ldy) {
  const int64_t nc = cols / 32;
  const size_t group_bytes = static_cast<size_t>(nc * block_bytes_x16<kQ8, kQ5>());
  for (int64_t ib = 0; ib < n; ib += kActRowBlock) {
    const int64_t ie = ib + kActRowBlock < n ? ib + kActRowBlock : n;
    for (int64_t r = r0; r < r1; r += 16) {
      const uint8_t* group = w + static_cast<size_t>(r / 16) * group_bytes;
      int64_t i = ib;
      for (; i + 4 <= ie; i += 4) x16_tile<kQ8, kQ5, 4>(group, nc, qa, i, y + i * ldy + r, ldy);
      switch (ie - i) {
        case 3:
          x16_tile<kQ8, kQ5, 3>(group, nc, qa, i, y + i * ldy + r, ldy);
          break;
        case 2:
          x16_tile<kQ8, kQ5, 2>(group, nc, qa, i, y + i * ldy + r, ldy);
          break;
        case 1:
          x16_tile<kQ8, kQ5, 1>(group, nc, qa, i, y + i * ldy + r, ldy);
          break;
        default:
          break;
      }
    }
  }
}

}  // namespace


const KernelTable& kernel_table_avx512() {
  static const KernelTable table = [] {
    KernelTable t = kernel_table_scalar();
    t.isa = IsaLevel::Avx512;
    fill_matmul_x86(t);
    fill_vec_avx512(t);
    t.matmul_rows_x16[static_cast<int>(GgmlType::Q4_0)] = rows_x16<false, false>;
    t.matmul_rows_x16[static_cast<int>(GgmlType::Q4_1)] = rows_x16<false, false>;
    t.matmul_rows_x16[static_cast<int>(GgmlType::Q5_0)] = rows_x16<false, true>;
    t.matmul_rows_x16[static_cast<int>(GgmlType::Q5_1)] = rows_x16<false, true>;
    t.matmul_rows_x16[static_cast<int>(GgmlType::Q8_0)] = rows_x16<true, false>;
    return t;
  }();
  return table;
}

// Attention/norm rows are short; the AVX2 versions are not the bottleneck there.
void fill_vec_avx512(KernelTable& t) { fill_vec_avx2(t); }

}  // namespace toolgate::engine
