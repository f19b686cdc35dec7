// Portable matmul kernels: decode a 32-element chunk of a weight row to int8 values with one
// f32 scale per 16 elements and an additive per-chunk term, then integer dot products against
// the quantized activations. Also the reference activation quantizer the SIMD paths mirror.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "engine/kernels/kernel_table.h"
#include "engine/kernels/quant_blocks.h"

namespace toolgate::engine {
namespace {

// w[j] = dw[j / 16] * q[j] + mw for the 32 elements of chunk c of a weight row.
struct Chunk {
  int8_t q[32];
  float dw[2];
  float mw;
};

void decode_q4_0(const uint8_t* row, int64_t c, Chunk& ch) {
  const auto& b = reinterpret_cast<const BlockQ4_0*>(row)[c];
  for (int j = 0; j < 16; ++j) {
    ch.q[j] = static_cast<int8_t>((b.qs[j] & 0xF) - 8);
    ch.q[j + 16] = static_cast<int8_t>((b.qs[j] >> 4) - 8);
  }
  ch.dw[0] = ch.dw[1] = fp16_to_f32(b.d);
  ch.mw = 0.0f;
}

void decode_q4_1(const uint8_t* row, int64_t c, Chunk& ch) {
  const auto& b = reinterpret_cast<const BlockQ4_1*>(row)[c];
  for (int j = 0; j < 16; ++j) {
    ch.q[j] = static_cast<int8_t>(b.qs[j] & 0xF);
    ch.q[j + 16] = static_cast<int8_t>(b.qs[j] >> 4);
  }
  ch.dw[0] = ch.dw[1] = fp16_to_f32(b.d);
  ch.mw = fp16_to_f32(b.m);
}

void q5_values(const uint8_t* qs, const uint8_t* qh_bytes, int offset, int8_t* q) {
  uint32_t qh;
  std::memcpy(&qh, qh_bytes, 4);
  for (int j = 0; j < 16; ++j) {
    q[j] = static_cast<int8_t>(((qs[j] & 0xF) | (((qh >> j) & 1) << 4)) - offset);
    q[j + 16] = static_cast<int8_t>(((qs[j] >> 4) | (((qh >> (j + 16)) & 1) << 4)) - offset);
  }
}

void decode_q5_0(const uint8_t* row, int64_t c, Chunk& ch) {
  const auto& b = reinterpret_cast<const BlockQ5_0*>(row)[c];
  q5_values(b.qs, b.qh, 16, ch.q);
  ch.dw[0] = ch.dw[1] = fp16_to_f32(b.d);
  ch.mw = 0.0f;
}

void decode_q5_1(const uint8_t* row, int64_t c, Chunk& ch) {
  const auto& b = reinterpret_cast<const BlockQ5_1*>(row)[c];
  q5_values(b.qs, b.qh, 0, ch.q);
  ch.dw[0] = ch.dw[1] = fp16_to_f32(b.d);
  ch.mw = fp16_to_f32(b.m);
}

void decode_q8_0(const uint8_t* row, int64_t c, Chunk& ch) {
  const auto& b = reinterpret_cast<const BlockQ8_0*>(row)[c];
  std::memcpy(ch.q, b.qs, 32);
  ch.dw[0] = ch.dw[1] = fp16_to_f32(b.d);
  ch.mw = 0.0f;
}

template <bool kFifthBit>
void decode_q45_K(const uint8_t* row, int64_t c, Chunk& ch) {
  const int sub = static_cast<int>(c % 8);  // 32-element sub-block inside the super-block
  const int pair = sub / 2;                 // 64-element run sharing the same qs bytes
  const bool high = sub % 2;
  uint16_t d16, dmin16;
  const uint8_t *scales, *qs, *qh = nullptr;
  if constexpr (kFifthBit) {
    const auto& b = reinterpret_cast<const BlockQ5_K*>(row)[c / 8];
    d16 = b.d, dmin16 = b.dmin, scales = b.scales, qs = b.qs, qh = b.qh;
  } else {
    const auto& b = reinterpret_cast<const BlockQ4_K*>(row)[c / 8];
    d16 = b.d, dmin16 = b.dmin, scales = b.scales, qs = b.qs;
  }
  uint8_t sc, m;
  unpack_scale_min_k4(sub, scales, &sc, &m);
  for (int l = 0; l < 32; ++l) {
    const uint8_t byte = qs[32 * pair + l];
    int v = high ? (byte >> 4) : (byte & 0xF);
    if constexpr (kFifthBit) v |= ((qh[l] >> sub) & 1) << 4;
    ch.q[l] = static_cast<int8_t>(v);
  }
  ch.dw[0] = ch.dw[1] = fp16_to_f32(d16) * sc;
  ch.mw = -fp16_to_f32(dmin16) * m;
}

void decode_q6_K(const uint8_t* row, int64_t c, Chunk& ch) {
  const auto& b = reinterpret_cast<const BlockQ6_K*>(row)[c / 8];
  const int sub = static_cast<int>(c % 8);
  const int half = sub / 4;  // which 128-element half
  const int which =
      sub % 4;  // 0: ql low/qh>>0, 1: ql+32 low/qh>>2, 2: ql high/qh>>4, 3: ql+32 high/qh>>6
  const uint8_t* ql = b.ql + 64 * half + (which % 2) * 32;
  const uint8_t* qh = b.qh + 32 * half;
  for (int l = 0; l < 32; ++l) {
    const int lo = which < 2 ? (ql[l] & 0xF) : (ql[l] >> 4);
    ch.q[l] = static_cast<int8_t>((lo | (((qh[l] >> (2 * which)) & 3) << 4)) - 32);
  }
  const float d = fp16_to_f32(b.d);
  ch.dw[0] = d * b.scales[2 * sub];
  ch.dw[1] = d * b.scales[2 * sub + 1];
  ch.mw = 0.0f;
}

template <void (*Decode)(const uint8_t*, int64_t, Chunk&)>
void rows_quant(const uint8_t* w, size_t row_bytes, int64_t r0, int64_t r1, const QuantActs& qa,
                const float*, int64_t cols, int64_t n, float* y, int64_t ldy) {
  const int64_t nc = cols / 32;
  Chunk ch;
  for (int64_t ib = 0; ib < n; ib += kActRowBlock) {
    const int64_t ie = std::min(n, ib + kActRowBlock);
    for (int64_t r = r0; r < r1; ++r) {
      const uint8_t* row = w + static_cast<size_t>(r) * row_bytes;
      for (int64_t i0 = ib; i0 < ie; i0 += 4) {
        const int na = static_cast<int>(std::min<int64_t>(4, ie - i0));
        float acc[4] = {0, 0, 0, 0};
        for (int64_t c = 0; c < nc; ++c) {
          Decode(row, c, ch);
          for (int t = 0; t < na; ++t) {
            const int64_t i = i0 + t;
            const int8_t* a = qa.qs + i * cols + 32 * c;
            int s0 = 0, s1 = 0;
            for (int j = 0; j < 16; ++j) s0 += ch.q[j] * a[j];
            for (int j = 16; j < 32; ++j) s1 += ch.q[j] * a[j];
            const float da = qa.d[i * nc + c];
            const float* s16 = qa.s16 + i * 2 * nc + 2 * c;
            acc[t] += da * (ch.dw[0] * static_cast<float>(s0) + ch.dw[1] * static_cast<float>(s1)) +
                      ch.mw * (s16[0] + s16[1]);
          }
        }
        for (int t = 0; t < na; ++t) y[(i0 + t) * ldy + r] = acc[t];
      }
    }
  }
}

float load_f32(const uint8_t* p, int64_t j) { return reinterpret_cast<const float*>(p)[j]; }
float load_f16(const uint8_t* p, int64_t j) {
  return fp16_to_f32(reinterpret_cast<const uint16_t*>(p)[j]);
}
float load_bf16(const uint8_t* p, int64_t j) {
  return bf16_to_f32(reinterpret_cast<const uint16_t*>(p)[j]);
}

template <float (*Load)(const uint8_t*, int64_t)>
void rows_float(const uint8_t* w, size_t row_bytes, int64_t r0, int64_t r1, const QuantActs&,
                const float* x, int64_t cols, int64_t n, float* y, int64_t ldy) {
  for (int64_t r = r0; r < r1; ++r) {
    const uint8_t* row = w + static_cast<size_t>(r) * row_bytes;
    for (int64_t i = 0; i < n; ++i) {
      const float* xi = x + i * cols;
      float acc = 0.0f;
      for (int64_t j = 0; j < cols; ++j) acc += Load(row, j) * xi[j];
      y[i * ldy + r] = acc;
    }
  }
}

void quantize_acts_scalar(const float* x, int64_t cols, int8_t* qs, float* d, float* s16,
                          float* s32) {
  for (int64_t b = 0; b < cols / 32; ++b, x += 32, qs += 32) {
    float amax = 0.0f;
    for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(x[j]));
    const float db = amax / 127.0f;
    const float id = amax > 0 ? 127.0f / amax : 0.0f;
    int sum[2] = {0, 0};
    for (int j = 0; j < 32; ++j) {
      const int q = static_cast<int>(std::nearbyint(x[j] * id));  // |q| <= 127 by construction
      qs[j] = static_cast<int8_t>(q);
      sum[j / 16] += q;
    }
    d[b] = db;
    s16[2 * b] = db * static_cast<float>(sum[0]);
    s16[2 * b + 1] = db * static_cast<float>(sum[1]);
    s32[b] = s16[2 * b] + s16[2 * b + 1];
  }
}

KernelTable make_table() {
  KernelTable t{};
  t.isa = IsaLevel::Scalar;
  auto set = [&t](GgmlType type, MatmulRowsFn fn) { t.matmul_rows[static_cast<int>(type)] = fn; };
  set(GgmlType::F32, rows_float<load_f32>);
  set(GgmlType::F16, rows_float<load_f16>);
  set(GgmlType::BF16, rows_float<load_bf16>);
  set(GgmlType::Q4_0, rows_quant<decode_q4_0>);
  set(GgmlType::Q4_1, rows_quant<decode_q4_1>);
  set(GgmlType::Q5_0, rows_quant<decode_q5_0>);
  set(GgmlType::Q5_1, rows_quant<decode_q5_1>);
  set(GgmlType::Q8_0, rows_quant<decode_q8_0>);
  set(GgmlType::Q4_K, rows_quant<decode_q45_K<false>>);
  set(GgmlType::Q5_K, rows_quant<decode_q45_K<true>>);
  set(GgmlType::Q6_K, rows_quant<decode_q6_K>);
  t.quantize_acts = quantize_acts_scalar;
  fill_vec_scalar(t);
  return t;
}

}  // namespace

const KernelTable& kernel_table_scalar() {
  static const KernelTable table = make_table();
  return table;
}

}  // namespace toolgate::engine
