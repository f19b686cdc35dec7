// Dequantization checked against blocks built byte by byte, with the expected values worked
// out by hand from the format description (ggml-common.h / ggml-quants.c).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "engine/kernels/dequant.h"
#include "engine/kernels/quant_blocks.h"

namespace toolgate::engine {
namespace {

// fp16 bit patterns used below.
constexpr uint16_t kHalf = 0x3800;      // 0.5
constexpr uint16_t kQuarter = 0x3400;   // 0.25
constexpr uint16_t kOne = 0x3C00;       // 1.0
constexpr uint16_t kMinusOne = 0xBC00;  // -1.0
constexpr uint16_t kTwo = 0x4000;       // 2.0

TEST(KernelFp16, ConvertsKnownBitPatterns) {
  EXPECT_EQ(fp16_to_f32(0x3C00), 1.0f);
  EXPECT_EQ(fp16_to_f32(0xC000), -2.0f);
  EXPECT_EQ(fp16_to_f32(0x3555), 0.333251953125f);
  EXPECT_EQ(fp16_to_f32(0x0001), 0x1p-24f);  // smallest subnormal
  EXPECT_EQ(fp16_to_f32(0x7BFF), 65504.0f);
  EXPECT_TRUE(std::isinf(fp16_to_f32(0x7C00)));
  EXPECT_TRUE(std::isnan(fp16_to_f32(0x7E00)));
  EXPECT_EQ(f32_to_fp16(1.0f), 0x3C00);
  EXPECT_EQ(f32_to_fp16(-2.0f), 0xC000);
  EXPECT_EQ(f32_to_fp16(0x1p-24f), 0x0001);
  EXPECT_EQ(f32_to_fp16(0x1p-25f), 0x0000);      // tie -> even (0)
  EXPECT_EQ(f32_to_fp16(3 * 0x1p-25f), 0x0002);  // 1.5 ulp -> 2 (even)
  EXPECT_EQ(f32_to_fp16(65504.0f), 0x7BFF);
  EXPECT_EQ(f32_to_fp16(65520.0f), 0x7C00);         // tie above max rounds to inf
  EXPECT_EQ(f32_to_fp16(1.0f + 0x1p-11f), 0x3C00);  // tie -> even
  EXPECT_EQ(f32_to_fp16(1.0f + 3 * 0x1p-11f), 0x3C02);
  EXPECT_EQ(f32_to_fp16(std::numeric_limits<float>::infinity()), 0x7C00);
  EXPECT_EQ(f32_to_fp16(std::nanf("")) & 0x7E00, 0x7E00);
}

TEST(KernelFp16, RoundTripsEveryHalf) {
  for (uint32_t h = 0; h < 0x10000; ++h) {
    const auto bits = static_cast<uint16_t>(h);
    if ((bits & 0x7C00) == 0x7C00 && (bits & 0x3FF)) continue;  // NaN payloads
    ASSERT_EQ(f32_to_fp16(fp16_to_f32(bits)), bits) << h;
  }
}

TEST(KernelBf16, ConvertsAndRoundsToNearestEven) {
  EXPECT_EQ(bf16_to_f32(0x3F80), 1.0f);
  EXPECT_EQ(bf16_to_f32(0xC040), -3.0f);
  EXPECT_EQ(f32_to_bf16(1.5f), 0x3FC0);
  EXPECT_EQ(f32_to_bf16(std::bit_cast<float>(0x3F808000u)), 0x3F80);  // tie -> even
  EXPECT_EQ(f32_to_bf16(std::bit_cast<float>(0x3F818000u)), 0x3F82);  // tie -> even (up)
}

TEST(KernelDequant, F32F16Bf16) {
  const float f[2] = {1.5f, -7.25f};
  float out[2];
  dequantize_row(GgmlType::F32, f, out, 2);
  EXPECT_EQ(out[0], 1.5f);
  EXPECT_EQ(out[1], -7.25f);
  const uint16_t h[3] = {0x3C00, 0xC000, 0x3555};
  float oh[3];
  dequantize_row(GgmlType::F16, h, oh, 3);
  EXPECT_EQ(oh[0], 1.0f);
  EXPECT_EQ(oh[1], -2.0f);
  EXPECT_EQ(oh[2], 0.333251953125f);
  const uint16_t b[2] = {0x3F80, 0xC040};
  float ob[2];
  dequantize_row(GgmlType::BF16, b, ob, 2);
  EXPECT_EQ(ob[0], 1.0f);
  EXPECT_EQ(ob[1], -3.0f);
}

TEST(KernelDequant, Q4_0) {
  BlockQ4_0 b;
  b.d = kHalf;
  std::memset(b.qs, 0x88, sizeof b.qs);  // every element (8 - 8) * d = 0
  b.qs[0] = 0x1F;                        // element 0 = 15, element 16 = 1
  b.qs[5] = 0x80;                        // element 5 = 0, element 21 = 8
  float y[32];
  dequantize_row(GgmlType::Q4_0, &b, y, 32);
  EXPECT_EQ(y[0], 3.5f);    // (15 - 8) * 0.5
  EXPECT_EQ(y[16], -3.5f);  // (1 - 8) * 0.5
  EXPECT_EQ(y[5], -4.0f);   // (0 - 8) * 0.5
  EXPECT_EQ(y[21], 0.0f);
  EXPECT_EQ(y[1], 0.0f);
  EXPECT_EQ(y[31], 0.0f);
}

TEST(KernelDequant, Q4_1) {
  BlockQ4_1 b;
  b.d = kHalf;
  b.m = kMinusOne;
  std::memset(b.qs, 0, sizeof b.qs);
  b.qs[0] = 0x1F;
  float y[32];
  dequantize_row(GgmlType::Q4_1, &b, y, 32);
  EXPECT_EQ(y[0], 6.5f);    // 15 * 0.5 - 1
  EXPECT_EQ(y[16], -0.5f);  // 1 * 0.5 - 1
  EXPECT_EQ(y[1], -1.0f);
  EXPECT_EQ(y[31], -1.0f);
}

TEST(KernelDequant, Q5_0) {
  BlockQ5_0 b;
  b.d = kQuarter;
  const uint8_t qh[4] = {0x01, 0x00, 0x02, 0x00};  // bits 0 and 17: elements 0 and 17
  std::memcpy(b.qh, qh, 4);
  std::memset(b.qs, 0, sizeof b.qs);
  b.qs[0] = 0x3F;  // element 0 low = 15, element 16 low = 3
  float y[32];
  dequantize_row(GgmlType::Q5_0, &b, y, 32);
  EXPECT_EQ(y[0], 3.75f);    // (15 | 16) - 16 = 15, * 0.25
  EXPECT_EQ(y[16], -3.25f);  // 3 - 16 = -13
  EXPECT_EQ(y[17], 0.0f);    // (0 | 16) - 16
  EXPECT_EQ(y[1], -4.0f);    // 0 - 16
  EXPECT_EQ(y[31], -4.0f);
}

TEST(KernelDequant, Q5_1) {
  BlockQ5_1 b;
  b.d = kHalf;
  b.m = kOne;
  const uint8_t qh[4] = {0x01, 0x00, 0x02, 0x00};
  std::memcpy(b.qh, qh, 4);
  std::memset(b.qs, 0, sizeof b.qs);
  b.qs[0] = 0x3F;
  float y[32];
  dequantize_row(GgmlType::Q5_1, &b, y, 32);
  EXPECT_EQ(y[0], 16.5f);  // 31 * 0.5 + 1
  EXPECT_EQ(y[16], 2.5f);  // 3 * 0.5 + 1
  EXPECT_EQ(y[17], 9.0f);  // 16 * 0.5 + 1
  EXPECT_EQ(y[1], 1.0f);
}

TEST(KernelDequant, Q8_0) {
  BlockQ8_0 b;
  b.d = kTwo;
  std::memset(b.qs, 0, sizeof b.qs);
  b.qs[0] = -128;
  b.qs[1] = -1;
  b.qs[31] = 127;
  float y[32];
  dequantize_row(GgmlType::Q8_0, &b, y, 32);
  EXPECT_EQ(y[0], -256.0f);
  EXPECT_EQ(y[1], -2.0f);
  EXPECT_EQ(y[2], 0.0f);
  EXPECT_EQ(y[31], 254.0f);
}

// Scales for the K-quant blocks: sub-block 0 has (sc, m) = (3, 2); sub-block 5 has (37, 26),
// which needs the split 4+2-bit encoding: low nibbles in byte 9, top bits in bytes 1 and 5.
void set_k_scales(uint8_t* s) {
  std::memset(s, 0, kKScaleSize);
  s[0] = 3;
  s[4] = 2;
  s[9] = 0xA5;     // sc low nibble 5 | m low nibble 10 << 4
  s[1] |= 2 << 6;  // sc 37 = 0b10'0101: top bits 2
  s[5] |= 1 << 6;  // m 26 = 0b01'1010: top bits 1
}

TEST(KernelDequant, UnpacksKScales) {
  uint8_t s[kKScaleSize];
  set_k_scales(s);
  uint8_t sc, m;
  unpack_scale_min_k4(0, s, &sc, &m);
  EXPECT_EQ(sc, 3);
  EXPECT_EQ(m, 2);
  unpack_scale_min_k4(5, s, &sc, &m);
  EXPECT_EQ(sc, 37);
  EXPECT_EQ(m, 26);
  unpack_scale_min_k4(1, s, &sc, &m);  // only the borrowed top bits are set: masked away
  EXPECT_EQ(sc, 0);
  EXPECT_EQ(m, 0);
}

TEST(KernelDequant, Q4_K) {
  BlockQ4_K b;
  b.d = kOne;
  b.dmin = kHalf;
  set_k_scales(b.scales);
  std::memset(b.qs, 0, sizeof b.qs);
  b.qs[0] = 0x07;       // element 0 (sub-block 0): 7
  b.qs[64 + 3] = 0xB0;  // element 128 + 32 + 3 = 163 (sub-block 5): 11
  float y[256];
  dequantize_row(GgmlType::Q4_K, &b, y, 256);
  EXPECT_EQ(y[0], 20.0f);     // 1 * 3 * 7 - 0.5 * 2
  EXPECT_EQ(y[1], -1.0f);     // 3 * 0 - 1
  EXPECT_EQ(y[32], 0.0f);     // sub-block 1: sc = m = 0
  EXPECT_EQ(y[163], 394.0f);  // 37 * 11 - 0.5 * 26
  EXPECT_EQ(y[160], -13.0f);
  EXPECT_EQ(y[131], 0.0f);  // sub-block 4: sc = m = 0
}

TEST(KernelDequant, Q5_K) {
  BlockQ5_K b;
  b.d = kOne;
  b.dmin = kHalf;
  set_k_scales(b.scales);
  std::memset(b.qs, 0, sizeof b.qs);
  std::memset(b.qh, 0, sizeof b.qh);
  b.qs[0] = 0x07;
  b.qs[64 + 3] = 0xB0;
  b.qh[0] = 0x01;  // element 0: bit 0 (sub-block 0)
  b.qh[3] = 0x20;  // element 163: bit 5 (sub-block 5)
  float y[256];
  dequantize_row(GgmlType::Q5_K, &b, y, 256);
  EXPECT_EQ(y[0], 68.0f);  // 3 * (7 + 16) - 1
  EXPECT_EQ(y[1], -1.0f);
  EXPECT_EQ(y[163], 986.0f);  // 37 * (11 + 16) - 13
  EXPECT_EQ(y[160], -13.0f);
  EXPECT_EQ(y[32], 0.0f);
}

TEST(KernelDequant, Q6_K) {
  BlockQ6_K b;
  std::memset(&b, 0, sizeof b);
  b.d = kHalf;
  for (auto& s : b.scales) s = 1;
  b.scales[0] = 2;
  b.scales[5] = -3;
  b.ql[0] = 0x0F;        // element 0 low 4 bits 15; element 64 low bits 0
  b.qh[0] = 0x03;        // element 0 high 2 bits 3 -> q = 63
  b.ql[16] = 0x50;       // element 80 (l = 16, third quarter) low bits 5
  b.qh[16] = 0x20;       // element 80 high bits 2 -> q = 37
  b.ql[64 + 33] = 0x09;  // element 128 + 33 = 161 (second quarter of half 1): low bits 9
  b.qh[32 + 1] = 0x04;   // its high bits 1 -> q = 25
  float y[256];
  dequantize_row(GgmlType::Q6_K, &b, y, 256);
  EXPECT_EQ(y[0], 31.0f);    // 0.5 * 2 * (63 - 32)
  EXPECT_EQ(y[1], -32.0f);   // 0.5 * 2 * -32
  EXPECT_EQ(y[64], -16.0f);  // 0.5 * 1 * -32
  EXPECT_EQ(y[80], -7.5f);   // 0.5 * -3 * (37 - 32)
  EXPECT_EQ(y[81], 48.0f);   // 0.5 * -3 * -32
  EXPECT_EQ(y[16], -16.0f);
  EXPECT_EQ(y[161], -3.5f);  // 0.5 * 1 * (25 - 32)
  EXPECT_EQ(y[255], -16.0f);
}

TEST(KernelDequant, RejectsPartialBlocksAndUnknownTypes) {
  std::vector<uint8_t> buf(1024);
  std::vector<float> out(512);
  EXPECT_THROW(dequantize_row(GgmlType::Q4_0, buf.data(), out.data(), 33), std::invalid_argument);
  EXPECT_THROW(dequantize_row(GgmlType::Q4_K, buf.data(), out.data(), 128), std::invalid_argument);
  EXPECT_THROW(dequantize_row(GgmlType::Q2_K, buf.data(), out.data(), 256), std::invalid_argument);
  EXPECT_THROW(dequantize_row(GgmlType::Q8_K, buf.data(), out.data(), 256), std::invalid_argument);
}

// Reference quantizers: dequantize(quantize(x)) stays within the format's step size.
TEST(KernelQuantize, RoundTripsWithinOneStep) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> u(-2.0f, 2.0f);
  std::vector<float> x(1024), back(1024);
  for (auto& v : x) v = u(rng);
  struct Case {
    GgmlType type;
    float max_err;  // a generous bound on |x - dequant(quant(x))| for |x| <= 2
  };
  // Step sizes: 4-bit over a range of 4 -> 4/15 (half a step error, plus the fp16 scale and,
  // for K-quants, 6-bit scale rounding); 5-bit 4/31; 6-bit Q6_K ~2/31; 8-bit 2/127.
  const Case cases[] = {{GgmlType::Q4_0, 0.30f}, {GgmlType::Q4_1, 0.16f}, {GgmlType::Q5_0, 0.15f},
                        {GgmlType::Q5_1, 0.08f}, {GgmlType::Q8_0, 0.01f}, {GgmlType::Q4_K, 0.25f},
                        {GgmlType::Q5_K, 0.13f}, {GgmlType::Q6_K, 0.07f}};
  for (const auto& c : cases) {
    std::vector<uint8_t> q(ggml_row_size(c.type, 1024));
    quantize_row(c.type, x.data(), q.data(), 1024);
    dequantize_row(c.type, q.data(), back.data(), 1024);
    float err = 0;
    for (int j = 0; j < 1024; ++j) err = std::max(err, std::fabs(x[j] - back[j]));
    EXPECT_LT(err, c.max_err) << ggml_type_name(c.type);
  }
}

TEST(KernelQuantize, ActivationBlocksCarrySums) {
  std::vector<float> x(256);
  for (int j = 0; j < 256; ++j) x[j] = std::sin(0.37f * j) * 3.0f;
  std::vector<BlockQ8_1> b1(8);
  quantize_row_q8_1(x.data(), b1.data(), 256);
  for (const auto& b : b1) {
    int sum = 0;
    for (int8_t q : b.qs) sum += q;
    EXPECT_NEAR(fp16_to_f32(b.s), fp16_to_f32(b.d) * sum,
                0.01f * std::abs(sum) * fp16_to_f32(b.d) + 1e-3f);
  }
  BlockQ8_K bk;
  quantize_row_q8_K(x.data(), &bk, 256);
  for (int g = 0; g < 16; ++g) {
    int sum = 0;
    for (int j = 0; j < 16; ++j) sum += bk.qs[16 * g + j];
    EXPECT_EQ(bk.bsums[g], sum);
  }
  for (int j = 0; j < 256; ++j) EXPECT_NEAR(bk.d * bk.qs[j], x[j], bk.d * 0.5f + 1e-6f);
  std::vector<BlockQ8_0> b0(8);
  quantize_row_q8_0(x.data(), b0.data(), 256);
  std::vector<float> back(256);
  dequantize_row(GgmlType::Q8_0, b0.data(), back.data(), 256);
  for (int j = 0; j < 256; ++j) EXPECT_NEAR(back[j], x[j], 3.0f / 127.0f);
}

}  // namespace
}  // namespace toolgate::engine
