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

// kImplied: the type's offset is a fixed multiple of d (Q4_0 -8, Q5_0 -16, Q8_0 -128) and the
// packed block stores no offsets (header 32 bytes instead of 64); 0: fp16 offsets m follow d.
template <bool kQ8, bool kQ5, int kImplied>
constexpr int64_t header_bytes_x16() {
  return kImplied ? 32 : 64;
}
template <bool kQ8, bool kQ5, int kImplied>
constexpr int64_t block_bytes_x16() {
  return header_bytes_x16<kQ8, kQ5, kImplied>() + (kQ8 ? 8 * 64 : (kQ5 ? 4 * 64 + 64 : 4 * 64));
}

// ---- Q4_0/Q4_1/Q5_0/Q5_1/Q8_0 packed 16 rows wide (layout in matmul.h, pack_weights_x16) ------------
// kQ8: 8 parts of plain bytes; else 4 parts of nibble pairs (+ bit-4 masks when kQ5).
// Blocks with a 32-byte header start 32 bytes into a cache line every other chunk: the
// unaligned loads cost a second L1 access, which a DRAM-bound stream has to spare, and the
// stream is 5-9% shorter (Q8_0: 544 instead of 576 bytes per 16 rows x 32 columns).
template <bool kQ8, bool kQ5, int kImplied, int NA>
inline void x16_tile(const uint8_t* group, int64_t nc, const QuantActs& qa, int64_t i0,
                       float* y, int64_t ldy) {
  constexpr int64_t kBlock = block_bytes_x16<kQ8, kQ5, kImplied>();
  constexpr int64_t kHeader = header_bytes_x16<kQ8, kQ5, kImplied>();
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
    const uint8_t* blk = group + c * kBlock;
    for (int64_t l = 0; l < kBlock; l += 64)
      _mm_prefetch(reinterpret_cast<const char*>(blk + kPrefetchAhead + l), _MM_HINT_T0);
    const __m512 dw = _mm512_cvtph_ps(_mm256_load_si256(reinterpret_cast<const __m256i*>(blk)));
    // d * kImplied is exact in f32 (a power of two times an fp16 value).
    const __m512 mw =
        kImplied ? _mm512_mul_ps(dw, _mm512_set1_ps(static_cast<float>(kImplied)))
                 : _mm512_cvtph_ps(_mm256_load_si256(reinterpret_cast<const __m256i*>(blk + 32)));
    const uint8_t* parts = blk + kHeader;
    __m512i lo[4], hi[4];  // kQ8: parts 0-3 and 4-7
    for (int s = 0; s < 4; ++s) {
      const __m512i v = _mm512_loadu_si512(parts + 64 * s);
      if constexpr (kQ8) {
        lo[s] = v;
        hi[s] = _mm512_loadu_si512(parts + 64 * (4 + s));
      } else {
        lo[s] = _mm512_and_si512(v, lo4);
        hi[s] = _mm512_and_si512(_mm512_srli_epi16(v, 4), lo4);
        if constexpr (kQ5) {
          uint64_t ml, mh;
          std::memcpy(&ml, parts + 4 * 64 + 8 * s, 8);
          std::memcpy(&mh, parts + 4 * 64 + 8 * (4 + s), 8);
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

// ---- Q4_K / Q6_K packed 16 rows wide (layouts in matmul.h) -----------------------------------
// Both reuse the Q4 nibble parts above for the low 4 bits of each 32-element chunk; the
// K-quant scales stay small integers per (row, sub-block) and become f32 here, d * sc exactly
// as dequantize_row computes it.
constexpr int64_t kQ4KSuperBytes = 2304;  // per 16 rows x 256 columns
constexpr int64_t kQ6KSuperBytes = 3392;

inline void prefetch_ahead(const uint8_t* p, int64_t bytes) {
  for (int64_t l = 0; l < bytes; l += 64)
    _mm_prefetch(reinterpret_cast<const char*>(p + kPrefetchAhead + l), _MM_HINT_T0);
}

// Sum over the 4 parts of dpbusd(part, the activation word that meets it).
inline __m512i dot4(const __m512i* part, const int32_t* a) {
  __m512i lo = _mm512_dpbusd_epi32(_mm512_setzero_si512(), part[0], _mm512_set1_epi32(a[0]));
  __m512i hi = _mm512_dpbusd_epi32(_mm512_setzero_si512(), part[1], _mm512_set1_epi32(a[1]));
  lo = _mm512_dpbusd_epi32(lo, part[2], _mm512_set1_epi32(a[2]));
  hi = _mm512_dpbusd_epi32(hi, part[3], _mm512_set1_epi32(a[3]));
  return _mm512_add_epi32(lo, hi);
}

inline __m512 u8x16_to_f32(const uint8_t* p) {
  return _mm512_cvtepi32_ps(
      _mm512_cvtepu8_epi32(_mm_load_si128(reinterpret_cast<const __m128i*>(p))));
}
inline __m512 i8x16_to_f32(const uint8_t* p) {
  return _mm512_cvtepi32_ps(
      _mm512_cvtepi8_epi32(_mm_load_si128(reinterpret_cast<const __m128i*>(p))));
}

// The 16 rows' 6-bit scale (or min) of chunk k from the packed fields at p (layout in
// pack_k_super_x16): low nibble from byte 16 (k % 4) + r, top 2 bits from 64 + 16 (k % 2) + r.
inline __m512 q4k_scales6(const uint8_t* p, int k) {
  const __m128i lo4 = _mm_set1_epi8(0x0F), lo2 = _mm_set1_epi8(0x03);
  const __m128i nib = _mm_load_si128(reinterpret_cast<const __m128i*>(p + 16 * (k % 4)));
  const __m128i top = _mm_load_si128(reinterpret_cast<const __m128i*>(p + 64 + 16 * (k % 2)));
  const __m128i lo = _mm_and_si128(k < 4 ? nib : _mm_srli_epi16(nib, 4), lo4);
  const __m128i hi = _mm_and_si128(_mm_srl_epi16(top, _mm_cvtsi32_si128(2 * (k / 2))), lo2);
  const __m128i v = _mm_or_si128(lo, _mm_slli_epi16(hi, 4));
  return _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(v));
}

template <int NA>
inline void q4k_x16_tile(const uint8_t* group, int64_t nc, const QuantActs& qa, int64_t i0,
                         float* y, int64_t ldy) {
  const __m512i lo4 = _mm512_set1_epi8(0x0F);
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
  for (int64_t sb = 0; sb < nc / 8; ++sb) {
    const uint8_t* hdr = group + sb * kQ4KSuperBytes;
    prefetch_ahead(hdr, kQ4KSuperBytes);
    const __m512 dv = _mm512_cvtph_ps(_mm256_load_si256(reinterpret_cast<const __m256i*>(hdr)));
    const __m512 mv =
        _mm512_cvtph_ps(_mm256_load_si256(reinterpret_cast<const __m256i*>(hdr + 32)));
    for (int k = 0; k < 8; ++k) {
      const int64_t c = 8 * sb + k;
      const __m512 dw = _mm512_mul_ps(dv, q4k_scales6(hdr + 64, k));
      const __m512 mw = _mm512_mul_ps(mv, q4k_scales6(hdr + 160, k));
      const uint8_t* qs = hdr + 256 + 256 * k;
      __m512i lo[4], hi[4];
      for (int s = 0; s < 4; ++s) {
        const __m512i v = _mm512_load_si512(qs + 64 * s);
        lo[s] = _mm512_and_si512(v, lo4);
        hi[s] = _mm512_and_si512(_mm512_srli_epi16(v, 4), lo4);
      }
      for (int t = 0; t < NA; ++t) {
        const int32_t* a = reinterpret_cast<const int32_t*>(q[t] + 32 * c);
        const __m512i isum = _mm512_add_epi32(dot4(lo, a), dot4(hi, a + 4));
        acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum),
                                 _mm512_mul_ps(dw, _mm512_set1_ps(d[t][c])), acc[t]);
        acc[t] = _mm512_fmadd_ps(mw, _mm512_set1_ps(s32[t][c]), acc[t]);
      }
    }
  }
  for (int t = 0; t < NA; ++t) _mm512_storeu_ps(y + t * ldy, acc[t]);
}

template <int NA>
inline void q6k_x16_tile(const uint8_t* group, int64_t nc, const QuantActs& qa, int64_t i0,
                         float* y, int64_t ldy) {
  const __m512i lo4 = _mm512_set1_epi8(0x0F);
  const __m512i hi2 = _mm512_set1_epi8(0x30);
  __m512 acc[NA];
  const int8_t* q[NA];
  const float* d[NA];
  const float* s16[NA];
  for (int t = 0; t < NA; ++t) {
    acc[t] = _mm512_setzero_ps();
    q[t] = qa.qs + (i0 + t) * qa.cols;
    d[t] = qa.d + (i0 + t) * nc;
    s16[t] = qa.s16 + (i0 + t) * 2 * nc;
  }
  // (x | (y & 0x30)): the stored 2 high bits, already moved to bits 4-5, over the nibble.
  auto with_high = [&](__m512i nib, __m512i h) {
    return _mm512_ternarylogic_epi32(nib, h, hi2, 0xF8);
  };
  const __m512 neg32 = _mm512_set1_ps(-32.0f);
  for (int64_t sb = 0; sb < nc / 8; ++sb) {
    const uint8_t* hdr = group + sb * kQ6KSuperBytes;
    prefetch_ahead(hdr, kQ6KSuperBytes);
    const __m512 dv = _mm512_cvtph_ps(_mm256_load_si256(reinterpret_cast<const __m256i*>(hdr)));
    for (int k = 0; k < 8; ++k) {
      const int64_t c = 8 * sb + k;
      // Elements 0-15 of the chunk (lo parts) and 16-31 (hi parts) have their own scales.
      const __m512 dlo = _mm512_mul_ps(dv, i8x16_to_f32(hdr + 64 + 32 * k));
      const __m512 dhi = _mm512_mul_ps(dv, i8x16_to_f32(hdr + 64 + 32 * k + 16));
      const __m512 mlo = _mm512_mul_ps(dlo, neg32), mhi = _mm512_mul_ps(dhi, neg32);
      const uint8_t* qs = hdr + 320 + 384 * k;
      const __m512i hl = _mm512_load_si512(qs + 256);
      const __m512i hh = _mm512_load_si512(qs + 320);
      __m512i lo[4], hi[4];
      for (int s = 0; s < 4; ++s) {
        const __m512i v = _mm512_load_si512(qs + 64 * s);
        // Bits 2s, 2s+1 of the high-bit bytes belong to part s: move them to bits 4-5.
        __m512i sl, sh;
        if (s == 0) {
          sl = _mm512_slli_epi16(hl, 4);
          sh = _mm512_slli_epi16(hh, 4);
        } else if (s == 1) {
          sl = _mm512_slli_epi16(hl, 2);
          sh = _mm512_slli_epi16(hh, 2);
        } else if (s == 2) {
          sl = hl;
          sh = hh;
        } else {
          sl = _mm512_srli_epi16(hl, 2);
          sh = _mm512_srli_epi16(hh, 2);
        }
        lo[s] = with_high(_mm512_and_si512(v, lo4), sl);
        hi[s] = with_high(_mm512_and_si512(_mm512_srli_epi16(v, 4), lo4), sh);
      }
      for (int t = 0; t < NA; ++t) {
        const int32_t* a = reinterpret_cast<const int32_t*>(q[t] + 32 * c);
        const __m512 da = _mm512_set1_ps(d[t][c]);
        acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot4(lo, a)), _mm512_mul_ps(dlo, da), acc[t]);
        acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot4(hi, a + 4)), _mm512_mul_ps(dhi, da), acc[t]);
        // The stored +32: -32 * d * sc times each half's activation sum.
        acc[t] = _mm512_fmadd_ps(mlo, _mm512_set1_ps(s16[t][2 * c]), acc[t]);
        acc[t] = _mm512_fmadd_ps(mhi, _mm512_set1_ps(s16[t][2 * c + 1]), acc[t]);
      }
    }
  }
  for (int t = 0; t < NA; ++t) _mm512_storeu_ps(y + t * ldy, acc[t]);
}

// Tile functors: Kernel::tile<NA>(group, nc, qa, i0, y, ldy) and the packed bytes per 32-column
// chunk of a 16-row group.
template <bool kQ8, bool kQ5, int kImplied>
struct LegacyX16 {
  static constexpr int64_t kChunkBytes = block_bytes_x16<kQ8, kQ5, kImplied>();
  template <int NA>
  static void tile(const uint8_t* g, int64_t nc, const QuantActs& qa, int64_t i0, float* y,
                   int64_t ldy) {
    x16_tile<kQ8, kQ5, kImplied, NA>(g, nc, qa, i0, y, ldy);
  }
};
struct Q4KX16 {
  static constexpr int64_t kChunkBytes = kQ4KSuperBytes / 8;
  template <int NA>
  static void tile(const uint8_t* g, int64_t nc, const QuantActs& qa, int64_t i0, float* y,
                   int64_t ldy) {
    q4k_x16_tile<NA>(g, nc, qa, i0, y, ldy);
  }
};
struct Q6KX16 {
  static constexpr int64_t kChunkBytes = kQ6KSuperBytes / 8;
  template <int NA>
  static void tile(const uint8_t* g, int64_t nc, const QuantActs& qa, int64_t i0, float* y,
                   int64_t ldy) {
    q6k_x16_tile<NA>(g, nc, qa, i0, y, ldy);
  }
};

template <class K>
void rows_x16(const uint8_t* w, size_t, int64_t r0, int64_t r1, const QuantActs& qa,
              const float*, int64_t cols, int64_t n, float* y, int64_t ldy) {
  const int64_t nc = cols / 32;
  const size_t group_bytes = static_cast<size_t>(nc * K::kChunkBytes);
  for (int64_t ib = 0; ib < n; ib += kActRowBlock) {
    const int64_t ie = ib + kActRowBlock < n ? ib + kActRowBlock : n;
    for (int64_t r = r0; r < r1; r += 16) {
      const uint8_t* group = w + static_cast<size_t>(r / 16) * group_bytes;
      int64_t i = ib;
      for (; i + 4 <= ie; i += 4) K::template tile<4>(group, nc, qa, i, y + i * ldy + r, ldy);
      switch (ie - i) {
        case 3:
          K::template tile<3>(group, nc, qa, i, y + i * ldy + r, ldy);
          break;
        case 2:
          K::template tile<2>(group, nc, qa, i, y + i * ldy + r, ldy);
          break;
        case 1:
          K::template tile<1>(group, nc, qa, i, y + i * ldy + r, ldy);
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
    t.matmul_rows_x16[static_cast<int>(GgmlType::Q4_0)] = rows_x16<LegacyX16<false, false, -8>>;
    t.matmul_rows_x16[static_cast<int>(GgmlType::Q4_1)] = rows_x16<LegacyX16<false, false, 0>>;
    t.matmul_rows_x16[static_cast<int>(GgmlType::Q5_0)] = rows_x16<LegacyX16<false, true, -16>>;
    t.matmul_rows_x16[static_cast<int>(GgmlType::Q5_1)] = rows_x16<LegacyX16<false, true, 0>>;
    t.matmul_rows_x16[static_cast<int>(GgmlType::Q8_0)] = rows_x16<LegacyX16<true, false, -128>>;
    t.matmul_rows_x16[static_cast<int>(GgmlType::Q4_K)] = rows_x16<Q4KX16>;
    t.matmul_rows_x16[static_cast<int>(GgmlType::Q6_K)] = rows_x16<Q6KX16>;
    return t;
  }();
  return table;
}

// Attention/norm rows are short; the AVX2 versions are not the bottleneck there.
void fill_vec_avx512(KernelTable& t) { fill_vec_avx2(t); }

}  // namespace toolgate::engine
