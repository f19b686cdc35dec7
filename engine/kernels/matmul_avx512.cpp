// AVX-512 (F/BW/VL/DQ) + VNNI matmul kernels: vpdpbusd does u8 x s8 -> int32 in one step
// without the int16 saturation of maddubs.
#include <immintrin.h>

#include <cstdint>

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

const KernelTable& kernel_table_avx512() {
  static const KernelTable table = [] {
    KernelTable t = kernel_table_scalar();
    t.isa = IsaLevel::Avx512;
    fill_matmul_x86(t);
    fill_vec_avx512(t);
    return t;
  }();
  return table;
}

// Attention/norm rows are short; the AVX2 versions are not the bottleneck there.
void fill_vec_avx512(KernelTable& t) { fill_vec_avx2(t); }

}  // namespace toolgate::engine
