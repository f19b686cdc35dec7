// AVX2 + FMA + F16C matmul kernels (compiled with -mavx2 -mfma -mf16c -mbmi2).
#include <immintrin.h>

#include <cstdint>

namespace toolgate::engine {
namespace {

struct Isa {
  static constexpr bool kVnni = false;
  // u <= 63 in every caller, so maddubs' int16 pair sums (<= 2 * 63 * 127) cannot saturate.
  static inline __m256i dot(__m256i u, __m256i a) {
    return _mm256_madd_epi16(_mm256_maddubs_epi16(u, a), _mm256_set1_epi16(1));
  }
  static inline __m256i add_bit4(__m256i u, uint32_t bits) {
    // Byte j of the result looks at byte j/8 of `bits`, then tests bit j%8.
    const __m256i spread =
        _mm256_shuffle_epi8(_mm256_set1_epi32(static_cast<int>(bits)),
                            _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2,
                                             2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3));
    const __m256i sel = _mm256_set1_epi64x(static_cast<long long>(0x8040201008040201ull));
    const __m256i set = _mm256_cmpeq_epi8(_mm256_and_si256(spread, sel), sel);
    return _mm256_or_si256(u, _mm256_and_si256(set, _mm256_set1_epi8(0x10)));
  }
};

}  // namespace
}  // namespace toolgate::engine

#include "engine/kernels/matmul_x86.inc"

namespace toolgate::engine {

const KernelTable& kernel_table_avx2() {
  static const KernelTable table = [] {
    KernelTable t = kernel_table_scalar();
    t.isa = IsaLevel::Avx2;
    fill_matmul_x86(t);
    fill_vec_avx2(t);
    return t;
  }();
  return table;
}

}  // namespace toolgate::engine
