#include "engine/kernels/dequant.h"

#include <cstring>
#include <stdexcept>
#include <string>

namespace toolgate::engine {
namespace {

int64_t block_count(GgmlType type, int64_t n) {
  const auto traits = ggml_type_traits(static_cast<uint32_t>(type));
  if (!traits) throw std::invalid_argument("dequantize_row: unknown type");
  if (n < 0 || n % traits->block_size != 0) {
    throw std::invalid_argument("dequantize_row: " + std::string(traits->name) + " row of " +
                                std::to_string(n) + " elements is not a whole number of blocks");
  }
  return n / traits->block_size;
}

void dequant_q4_0(const BlockQ4_0* x, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, y += kQK32) {
    const float d = fp16_to_f32(x[i].d);
    for (int j = 0; j < 16; ++j) {
      y[j] = d * static_cast<float>((x[i].qs[j] & 0xF) - 8);
      y[j + 16] = d * static_cast<float>((x[i].qs[j] >> 4) - 8);
    }
  }
}

void dequant_q4_1(const BlockQ4_1* x, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, y += kQK32) {
    const float d = fp16_to_f32(x[i].d);
    const float m = fp16_to_f32(x[i].m);
    for (int j = 0; j < 16; ++j) {
      y[j] = d * static_cast<float>(x[i].qs[j] & 0xF) + m;
      y[j + 16] = d * static_cast<float>(x[i].qs[j] >> 4) + m;
    }
  }
}

// 5-bit value of element j (0..31) of a Q5_0/Q5_1 block.
inline int q5_value(const uint8_t* qs, uint32_t qh, int j) {
  const int low = j < 16 ? (qs[j] & 0xF) : (qs[j - 16] >> 4);
  return low | static_cast<int>(((qh >> j) & 1u) << 4);
}

void dequant_q5_0(const BlockQ5_0* x, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, y += kQK32) {
    const float d = fp16_to_f32(x[i].d);
    uint32_t qh;
    std::memcpy(&qh, x[i].qh, 4);
    for (int j = 0; j < 32; ++j) y[j] = d * static_cast<float>(q5_value(x[i].qs, qh, j) - 16);
  }
}

void dequant_q5_1(const BlockQ5_1* x, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, y += kQK32) {
    const float d = fp16_to_f32(x[i].d);
    const float m = fp16_to_f32(x[i].m);
    uint32_t qh;
    std::memcpy(&qh, x[i].qh, 4);
    for (int j = 0; j < 32; ++j) y[j] = d * static_cast<float>(q5_value(x[i].qs, qh, j)) + m;
  }
}

void dequant_q8_0(const BlockQ8_0* x, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, y += kQK32) {
    const float d = fp16_to_f32(x[i].d);
    for (int j = 0; j < 32; ++j) y[j] = d * static_cast<float>(x[i].qs[j]);
  }
}

void dequant_q4_K(const BlockQ4_K* x, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i) {
    const float d = fp16_to_f32(x[i].d);
    const float dmin = fp16_to_f32(x[i].dmin);
    for (int c = 0; c < 4; ++c) {  // 64 elements per chunk: low nibbles then high nibbles
      const uint8_t* q = x[i].qs + 32 * c;
      uint8_t sc0, m0, sc1, m1;
      unpack_scale_min_k4(2 * c, x[i].scales, &sc0, &m0);
      unpack_scale_min_k4(2 * c + 1, x[i].scales, &sc1, &m1);
      const float d0 = d * sc0, min0 = dmin * m0, d1 = d * sc1, min1 = dmin * m1;
      for (int l = 0; l < 32; ++l) *y++ = d0 * static_cast<float>(q[l] & 0xF) - min0;
      for (int l = 0; l < 32; ++l) *y++ = d1 * static_cast<float>(q[l] >> 4) - min1;
    }
  }
}

void dequant_q5_K(const BlockQ5_K* x, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i) {
    const float d = fp16_to_f32(x[i].d);
    const float dmin = fp16_to_f32(x[i].dmin);
    for (int c = 0; c < 4; ++c) {
      const uint8_t* q = x[i].qs + 32 * c;
      uint8_t sc0, m0, sc1, m1;
      unpack_scale_min_k4(2 * c, x[i].scales, &sc0, &m0);
      unpack_scale_min_k4(2 * c + 1, x[i].scales, &sc1, &m1);
      const float d0 = d * sc0, min0 = dmin * m0, d1 = d * sc1, min1 = dmin * m1;
      for (int l = 0; l < 32; ++l) {
        const int v = (q[l] & 0xF) | (((x[i].qh[l] >> (2 * c)) & 1) << 4);
        *y++ = d0 * static_cast<float>(v) - min0;
      }
      for (int l = 0; l < 32; ++l) {
        const int v = (q[l] >> 4) | (((x[i].qh[l] >> (2 * c + 1)) & 1) << 4);
        *y++ = d1 * static_cast<float>(v) - min1;
      }
    }
  }
}

void dequant_q6_K(const BlockQ6_K* x, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i) {
    const float d = fp16_to_f32(x[i].d);
    for (int h = 0; h < 2; ++h, y += 128) {
      const uint8_t* ql = x[i].ql + 64 * h;
      const uint8_t* qh = x[i].qh + 32 * h;
      const int8_t* sc = x[i].scales + 8 * h;
      for (int l = 0; l < 32; ++l) {
        const int k = l / 16;  // which 16-group inside each 32-run
        const int q0 = ((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
        const int q1 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
        const int q2 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
        const int q3 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
        y[l] = d * static_cast<float>(sc[k] * q0);
        y[l + 32] = d * static_cast<float>(sc[k + 2] * q1);
        y[l + 64] = d * static_cast<float>(sc[k + 4] * q2);
        y[l + 96] = d * static_cast<float>(sc[k + 6] * q3);
      }
    }
  }
}

}  // namespace

void dequantize_row(GgmlType type, const void* src, float* dst, int64_t n) {
  const int64_t nb = block_count(type, n);
  switch (type) {
    case GgmlType::F32:
      std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(float));
      return;
    case GgmlType::F16: {
      const auto* h = static_cast<const uint16_t*>(src);
      for (int64_t i = 0; i < n; ++i) dst[i] = fp16_to_f32(h[i]);
      return;
    }
    case GgmlType::BF16: {
      const auto* h = static_cast<const uint16_t*>(src);
      for (int64_t i = 0; i < n; ++i) dst[i] = bf16_to_f32(h[i]);
      return;
    }
    case GgmlType::Q4_0:
      dequant_q4_0(static_cast<const BlockQ4_0*>(src), dst, nb);
      return;
    case GgmlType::Q4_1:
      dequant_q4_1(static_cast<const BlockQ4_1*>(src), dst, nb);
      return;
    case GgmlType::Q5_0:
      dequant_q5_0(static_cast<const BlockQ5_0*>(src), dst, nb);
      return;
    case GgmlType::Q5_1:
      dequant_q5_1(static_cast<const BlockQ5_1*>(src), dst, nb);
      return;
    case GgmlType::Q8_0:
      dequant_q8_0(static_cast<const BlockQ8_0*>(src), dst, nb);
      return;
    case GgmlType::Q4_K:
      dequant_q4_K(static_cast<const BlockQ4_K*>(src), dst, nb);
      return;
    case GgmlType::Q5_K:
      dequant_q5_K(static_cast<const BlockQ5_K*>(src), dst, nb);
      return;
    case GgmlType::Q6_K:
      dequant_q6_K(static_cast<const BlockQ6_K*>(src), dst, nb);
      return;
    default:
      break;
  }
  throw std::invalid_argument("dequantize_row: type " + std::string(ggml_type_name(type)) +
                              " is not supported");
}

}  // namespace toolgate::engine
