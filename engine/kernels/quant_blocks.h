#pragma once
// ggml's quantized block layouts (bit-exact with GGUF files) and fp16/bf16 <-> f32 conversion.
// Layouts follow ggml-common.h; each struct's comment says how a weight is reconstructed.
#include <bit>
#include <cmath>
#include <cstdint>

namespace toolgate::engine {

inline constexpr int kQK32 = 32;   // block size of the "legacy" formats (Q4_0 .. Q8_1)
inline constexpr int kQK_K = 256;  // super-block size of the K-quants
inline constexpr int kKScaleSize = 12;

// w[j] = d * (nibble - 8); qs[j] low nibble = element j, high nibble = element j + 16.
struct BlockQ4_0 {
  uint16_t d;  // fp16
  uint8_t qs[kQK32 / 2];
};
// w[j] = d * nibble + m.
struct BlockQ4_1 {
  uint16_t d;  // fp16
  uint16_t m;  // fp16
  uint8_t qs[kQK32 / 2];
};
// w[j] = d * ((nibble | bit5 << 4) - 16); bit j of qh (little-endian u32) is element j's 5th bit.
struct BlockQ5_0 {
  uint16_t d;
  uint8_t qh[4];
  uint8_t qs[kQK32 / 2];
};
// w[j] = d * (nibble | bit5 << 4) + m.
struct BlockQ5_1 {
  uint16_t d;
  uint16_t m;
  uint8_t qh[4];
  uint8_t qs[kQK32 / 2];
};
// w[j] = d * qs[j].
struct BlockQ8_0 {
  uint16_t d;
  int8_t qs[kQK32];
};
// Activation format for types with a min: s = d * sum(qs).
struct BlockQ8_1 {
  uint16_t d;
  uint16_t s;
  int8_t qs[kQK32];
};
// 8 sub-blocks of 32: w = d * sc[k] * nibble - dmin * m[k], sc/m 6-bit packed in `scales`
// (see unpack_scale_min_k4). qs[32*c + l]: low nibble = element 64c + l, high = 64c + 32 + l.
struct BlockQ4_K {
  uint16_t d;
  uint16_t dmin;
  uint8_t scales[kKScaleSize];
  uint8_t qs[kQK_K / 2];
};
// As Q4_K plus a 5th bit: element 64c + l takes bit 2c of qh[l], element 64c + 32 + l bit 2c+1.
struct BlockQ5_K {
  uint16_t d;
  uint16_t dmin;
  uint8_t scales[kKScaleSize];
  uint8_t qh[kQK_K / 8];
  uint8_t qs[kQK_K / 2];
};
// 16 sub-blocks of 16: w = d * scales[k] * (q - 32), q 6-bit. Per 128-half h (ql += 64h, qh +=
// 32h): element l      : ql[l] & 15      | (qh[l] >> 0 & 3) << 4 element l + 32 : ql[l + 32] & 15 |
// (qh[l] >> 2 & 3) << 4 element l + 64 : ql[l] >> 4      | (qh[l] >> 4 & 3) << 4 element l + 96 :
// ql[l + 32] >> 4 | (qh[l] >> 6 & 3) << 4
struct BlockQ6_K {
  uint8_t ql[kQK_K / 2];
  uint8_t qh[kQK_K / 4];
  int8_t scales[kQK_K / 16];
  uint16_t d;
};
// Activation format for the K-quants: bsums[k] = sum of qs over 16-element group k.
struct BlockQ8_K {
  float d;
  int8_t qs[kQK_K];
  int16_t bsums[kQK_K / 16];
};

static_assert(sizeof(BlockQ4_0) == 18);
static_assert(sizeof(BlockQ4_1) == 20);
static_assert(sizeof(BlockQ5_0) == 22);
static_assert(sizeof(BlockQ5_1) == 24);
static_assert(sizeof(BlockQ8_0) == 34);
static_assert(sizeof(BlockQ8_1) == 36);
static_assert(sizeof(BlockQ4_K) == 144);
static_assert(sizeof(BlockQ5_K) == 176);
static_assert(sizeof(BlockQ6_K) == 210);
static_assert(sizeof(BlockQ8_K) == 292);

// Sub-block k (0..7) scale and min of Q4_K/Q5_K: the first four live in the low 6 bits of
// bytes 0..3 / 4..7; the last four take 4 bits from bytes 8..11 and their top 2 bits from the
// high bits of bytes 0..3 (scales) / 4..7 (mins).
inline void unpack_scale_min_k4(int k, const uint8_t* s, uint8_t* sc, uint8_t* m) {
  if (k < 4) {
    *sc = s[k] & 63;
    *m = s[k + 4] & 63;
  } else {
    *sc = static_cast<uint8_t>((s[k + 4] & 0xF) | ((s[k - 4] >> 6) << 4));
    *m = static_cast<uint8_t>((s[k + 4] >> 4) | ((s[k] >> 6) << 4));
  }
}

// ---- fp16 / bf16 ----------------------------------------------------------------------------

inline float fp16_to_f32(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t exp = (h >> 10) & 0x1Fu;
  const uint32_t mant = h & 0x3FFu;
  if (exp == 0) {  // zero or subnormal: mant * 2^-24, exact in f32
    const float f = static_cast<float>(mant) * 0x1p-24f;
    return sign ? -f : f;
  }
  if (exp == 31) return std::bit_cast<float>(sign | 0x7F800000u | (mant << 13));
  return std::bit_cast<float>(sign | ((exp + 112u) << 23) | (mant << 13));
}

// Round to nearest, ties to even (what F16C's vcvtps2ph does with imm 0).
inline uint16_t f32_to_fp16(float f) {
  const uint32_t x = std::bit_cast<uint32_t>(f);
  const uint16_t sign = static_cast<uint16_t>((x >> 16) & 0x8000u);
  const uint32_t ax = x & 0x7FFFFFFFu;
  if (ax > 0x7F800000u) return sign | 0x7E00u;   // NaN stays a (quiet) NaN
  if (ax >= 0x47800000u) return sign | 0x7C00u;  // >= 65536 (or inf): overflow
  if (ax < 0x38800000u) {                        // below 2^-14: fp16 subnormal (or zero)
    const float scaled = std::bit_cast<float>(ax) * 0x1p24f;  // exact: units of 2^-24
    return static_cast<uint16_t>(sign | static_cast<uint16_t>(std::nearbyint(scaled)));
  }
  uint32_t h = ((((ax >> 23) - 112u) << 10) | ((ax & 0x7FFFFFu) >> 13));
  const uint32_t rem = ax & 0x1FFFu;
  if (rem > 0x1000u || (rem == 0x1000u && (h & 1u))) ++h;  // a carry rolls into the exponent
  return static_cast<uint16_t>(sign | h);
}

inline float bf16_to_f32(uint16_t h) {
  return std::bit_cast<float>(static_cast<uint32_t>(h) << 16);
}

inline uint16_t f32_to_bf16(float f) {
  const uint32_t x = std::bit_cast<uint32_t>(f);
  if ((x & 0x7FFFFFFFu) > 0x7F800000u) return static_cast<uint16_t>((x >> 16) | 0x40u);
  return static_cast<uint16_t>((x + 0x7FFFu + ((x >> 16) & 1u)) >> 16);
}

}  // namespace toolgate::engine
