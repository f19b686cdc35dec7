// Activation quantizers and simple reference weight quantizers (declared in dequant.h).
// Weight quantizers use plain round-to-nearest with min/max scales: valid blocks, modest quality.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <string>

#include "engine/kernels/dequant.h"

namespace toolgate::engine {
namespace {

void check_blocks(int64_t n, int64_t block, const char* what) {
  if (n < 0 || n % block != 0) {
    throw std::invalid_argument(std::string(what) + ": " + std::to_string(n) +
                                " elements is not a multiple of " + std::to_string(block));
  }
}

int round_clamp(float v, int lo, int hi) {
  const long r = std::lround(v);
  return static_cast<int>(std::clamp<long>(r, lo, hi));
}

float abs_max(const float* x, int n) {
  float a = 0.0f;
  for (int j = 0; j < n; ++j) a = std::max(a, std::fabs(x[j]));
  return a;
}

// Value with the largest magnitude, keeping its sign (ggml's Q4_0/Q5_0 put it at level -8/-16,
// the one extra negative level, so the asymmetric range is used fully).
float signed_max(const float* x, int n) {
  float m = 0.0f;
  for (int j = 0; j < n; ++j)
    if (std::fabs(x[j]) > std::fabs(m)) m = x[j];
  return m;
}

// 32 quants in 0..15 -> ggml nibble layout (element j low nibble, j + 16 high nibble).
void pack_nibbles32(const int* q, uint8_t* qs) {
  for (int j = 0; j < 16; ++j)
    qs[j] = static_cast<uint8_t>((q[j] & 0xF) | ((q[j + 16] & 0xF) << 4));
}

void pack_q5_high(const int* q, uint8_t* qh) {
  uint32_t bits = 0;
  for (int j = 0; j < 32; ++j) bits |= static_cast<uint32_t>((q[j] >> 4) & 1) << j;
  std::memcpy(qh, &bits, 4);
}

// Scale/min pair of a sub-block quantized as w = d * q - min with q in 0..qmax.
struct RangeFit {
  float scale;  // >= 0
  float min;    // >= 0, subtracted
};
RangeFit fit_range(const float* x, int n, int qmax) {
  float lo = 0.0f, hi = 0.0f;  // lo <= 0 so a min stays non-negative like ggml's
  for (int j = 0; j < n; ++j) {
    lo = std::min(lo, x[j]);
    hi = std::max(hi, x[j]);
  }
  return {(hi - lo) / static_cast<float>(qmax), -lo};
}

// Q4_K / Q5_K share the scale layout; qmax is 15 or 31.
void quantize_k_scales(const float* x, int qmax, uint16_t* d_out, uint16_t* dmin_out,
                       uint8_t* scales, int* q) {
  RangeFit fit[8];
  float max_scale = 0.0f, max_min = 0.0f;
  for (int k = 0; k < 8; ++k) {
    fit[k] = fit_range(x + 32 * k, 32, qmax);
    max_scale = std::max(max_scale, fit[k].scale);
    max_min = std::max(max_min, fit[k].min);
  }
  *d_out = f32_to_fp16(max_scale / 63.0f);
  *dmin_out = f32_to_fp16(max_min / 63.0f);
  const float d = fp16_to_f32(*d_out), dmin = fp16_to_f32(*dmin_out);
  uint8_t sc[8], m[8];
  for (int k = 0; k < 8; ++k) {
    sc[k] = static_cast<uint8_t>(d > 0 ? round_clamp(fit[k].scale / d, 0, 63) : 0);
    m[k] = static_cast<uint8_t>(dmin > 0 ? round_clamp(fit[k].min / dmin, 0, 63) : 0);
  }
  std::memset(scales, 0, kKScaleSize);
  for (int k = 0; k < 4; ++k) {
    scales[k] = sc[k];
    scales[k + 4] = m[k];
  }
  for (int k = 4; k < 8; ++k) {
    scales[k + 4] = static_cast<uint8_t>((sc[k] & 0xF) | ((m[k] & 0xF) << 4));
    scales[k - 4] |= static_cast<uint8_t>((sc[k] >> 4) << 6);
    scales[k] |= static_cast<uint8_t>((m[k] >> 4) << 6);
  }
  for (int k = 0; k < 8; ++k) {
    const float eff_d = d * sc[k], eff_min = dmin * m[k];
    for (int j = 0; j < 32; ++j) {
      q[32 * k + j] = eff_d > 0 ? round_clamp((x[32 * k + j] + eff_min) / eff_d, 0, qmax) : 0;
    }
  }
}

}  // namespace

void quantize_row_q8_0(const float* x, BlockQ8_0* y, int64_t n) {
  check_blocks(n, kQK32, "quantize_row_q8_0");
  for (int64_t i = 0; i < n / kQK32; ++i, x += kQK32) {
    const float d = abs_max(x, kQK32) / 127.0f;
    const float id = d > 0 ? 1.0f / d : 0.0f;
    y[i].d = f32_to_fp16(d);
    for (int j = 0; j < kQK32; ++j)
      y[i].qs[j] = static_cast<int8_t>(round_clamp(x[j] * id, -127, 127));
  }
}

void quantize_row_q8_1(const float* x, BlockQ8_1* y, int64_t n) {
  check_blocks(n, kQK32, "quantize_row_q8_1");
  for (int64_t i = 0; i < n / kQK32; ++i, x += kQK32) {
    const float d = abs_max(x, kQK32) / 127.0f;
    const float id = d > 0 ? 1.0f / d : 0.0f;
    int sum = 0;
    for (int j = 0; j < kQK32; ++j) {
      y[i].qs[j] = static_cast<int8_t>(round_clamp(x[j] * id, -127, 127));
      sum += y[i].qs[j];
    }
    y[i].d = f32_to_fp16(d);
    y[i].s = f32_to_fp16(d * static_cast<float>(sum));
  }
}

void quantize_row_q8_K(const float* x, BlockQ8_K* y, int64_t n) {
  check_blocks(n, kQK_K, "quantize_row_q8_K");
  for (int64_t i = 0; i < n / kQK_K; ++i, x += kQK_K) {
    const float d = abs_max(x, kQK_K) / 127.0f;
    const float id = d > 0 ? 1.0f / d : 0.0f;
    y[i].d = d;
    for (int j = 0; j < kQK_K; ++j)
      y[i].qs[j] = static_cast<int8_t>(round_clamp(x[j] * id, -127, 127));
    for (int g = 0; g < kQK_K / 16; ++g) {
      int sum = 0;
      for (int j = 0; j < 16; ++j) sum += y[i].qs[16 * g + j];
      y[i].bsums[g] = static_cast<int16_t>(sum);
    }
  }
}

void quantize_row_q4_0(const float* x, BlockQ4_0* y, int64_t n) {
  check_blocks(n, kQK32, "quantize_row_q4_0");
  for (int64_t i = 0; i < n / kQK32; ++i, x += kQK32) {
    y[i].d = f32_to_fp16(signed_max(x, kQK32) / -8.0f);
    const float d = fp16_to_f32(y[i].d);
    const float id = d != 0 ? 1.0f / d : 0.0f;
    int q[32];
    for (int j = 0; j < 32; ++j) q[j] = round_clamp(x[j] * id, -8, 7) + 8;
    pack_nibbles32(q, y[i].qs);
  }
}

void quantize_row_q4_1(const float* x, BlockQ4_1* y, int64_t n) {
  check_blocks(n, kQK32, "quantize_row_q4_1");
  for (int64_t i = 0; i < n / kQK32; ++i, x += kQK32) {
    const float lo = *std::min_element(x, x + kQK32), hi = *std::max_element(x, x + kQK32);
    y[i].d = f32_to_fp16((hi - lo) / 15.0f);
    y[i].m = f32_to_fp16(lo);
    const float d = fp16_to_f32(y[i].d), m = fp16_to_f32(y[i].m);
    const float id = d > 0 ? 1.0f / d : 0.0f;
    int q[32];
    for (int j = 0; j < 32; ++j) q[j] = round_clamp((x[j] - m) * id, 0, 15);
    pack_nibbles32(q, y[i].qs);
  }
}

void quantize_row_q5_0(const float* x, BlockQ5_0* y, int64_t n) {
  check_blocks(n, kQK32, "quantize_row_q5_0");
  for (int64_t i = 0; i < n / kQK32; ++i, x += kQK32) {
    y[i].d = f32_to_fp16(signed_max(x, kQK32) / -16.0f);
    const float d = fp16_to_f32(y[i].d);
    const float id = d != 0 ? 1.0f / d : 0.0f;
    int q[32];
    for (int j = 0; j < 32; ++j) q[j] = round_clamp(x[j] * id, -16, 15) + 16;
    pack_nibbles32(q, y[i].qs);
    pack_q5_high(q, y[i].qh);
  }
}

void quantize_row_q5_1(const float* x, BlockQ5_1* y, int64_t n) {
  check_blocks(n, kQK32, "quantize_row_q5_1");
  for (int64_t i = 0; i < n / kQK32; ++i, x += kQK32) {
    const float lo = *std::min_element(x, x + kQK32), hi = *std::max_element(x, x + kQK32);
    y[i].d = f32_to_fp16((hi - lo) / 31.0f);
    y[i].m = f32_to_fp16(lo);
    const float d = fp16_to_f32(y[i].d), m = fp16_to_f32(y[i].m);
    const float id = d > 0 ? 1.0f / d : 0.0f;
    int q[32];
    for (int j = 0; j < 32; ++j) q[j] = round_clamp((x[j] - m) * id, 0, 31);
    pack_nibbles32(q, y[i].qs);
    pack_q5_high(q, y[i].qh);
  }
}

void quantize_row_q4_K(const float* x, BlockQ4_K* y, int64_t n) {
  check_blocks(n, kQK_K, "quantize_row_q4_K");
  for (int64_t i = 0; i < n / kQK_K; ++i, x += kQK_K) {
    int q[kQK_K];
    quantize_k_scales(x, 15, &y[i].d, &y[i].dmin, y[i].scales, q);
    for (int c = 0; c < 4; ++c) {
      for (int l = 0; l < 32; ++l) {
        y[i].qs[32 * c + l] = static_cast<uint8_t>(q[64 * c + l] | (q[64 * c + 32 + l] << 4));
      }
    }
  }
}

void quantize_row_q5_K(const float* x, BlockQ5_K* y, int64_t n) {
  check_blocks(n, kQK_K, "quantize_row_q5_K");
  for (int64_t i = 0; i < n / kQK_K; ++i, x += kQK_K) {
    int q[kQK_K];
    quantize_k_scales(x, 31, &y[i].d, &y[i].dmin, y[i].scales, q);
    std::memset(y[i].qh, 0, sizeof(y[i].qh));
    for (int c = 0; c < 4; ++c) {
      for (int l = 0; l < 32; ++l) {
        const int lo = q[64 * c + l], hi = q[64 * c + 32 + l];
        y[i].qs[32 * c + l] = static_cast<uint8_t>((lo & 0xF) | ((hi & 0xF) << 4));
        y[i].qh[l] |= static_cast<uint8_t>(((lo >> 4) << (2 * c)) | ((hi >> 4) << (2 * c + 1)));
      }
    }
  }
}

void quantize_row_q6_K(const float* x, BlockQ6_K* y, int64_t n) {
  check_blocks(n, kQK_K, "quantize_row_q6_K");
  for (int64_t i = 0; i < n / kQK_K; ++i, x += kQK_K) {
    float scale[16];
    float max_scale = 0.0f;
    for (int k = 0; k < 16; ++k) {
      scale[k] = abs_max(x + 16 * k, 16) / 31.0f;  // symmetric: q - 32 in -31..31
      max_scale = std::max(max_scale, scale[k]);
    }
    y[i].d = f32_to_fp16(max_scale / 127.0f);
    const float d = fp16_to_f32(y[i].d);
    int q[kQK_K];
    for (int k = 0; k < 16; ++k) {
      y[i].scales[k] = static_cast<int8_t>(d > 0 ? round_clamp(scale[k] / d, -128, 127) : 0);
      const float eff = d * y[i].scales[k];
      for (int j = 0; j < 16; ++j) {
        q[16 * k + j] = (eff > 0 ? round_clamp(x[16 * k + j] / eff, -32, 31) : 0) + 32;
      }
    }
    for (int h = 0; h < 2; ++h) {
      uint8_t* ql = y[i].ql + 64 * h;
      uint8_t* qh = y[i].qh + 32 * h;
      const int* qq = q + 128 * h;
      for (int l = 0; l < 32; ++l) {
        ql[l] = static_cast<uint8_t>((qq[l] & 0xF) | ((qq[l + 64] & 0xF) << 4));
        ql[l + 32] = static_cast<uint8_t>((qq[l + 32] & 0xF) | ((qq[l + 96] & 0xF) << 4));
        qh[l] = static_cast<uint8_t>((qq[l] >> 4) | ((qq[l + 32] >> 4) << 2) |
                                     ((qq[l + 64] >> 4) << 4) | ((qq[l + 96] >> 4) << 6));
      }
    }
  }
}

void quantize_row(GgmlType type, const float* x, void* dst, int64_t n) {
  switch (type) {
    case GgmlType::F32:
      std::memcpy(dst, x, static_cast<size_t>(n) * sizeof(float));
      return;
    case GgmlType::F16:
      for (int64_t i = 0; i < n; ++i) static_cast<uint16_t*>(dst)[i] = f32_to_fp16(x[i]);
      return;
    case GgmlType::BF16:
      for (int64_t i = 0; i < n; ++i) static_cast<uint16_t*>(dst)[i] = f32_to_bf16(x[i]);
      return;
    case GgmlType::Q4_0:
      quantize_row_q4_0(x, static_cast<BlockQ4_0*>(dst), n);
      return;
    case GgmlType::Q4_1:
      quantize_row_q4_1(x, static_cast<BlockQ4_1*>(dst), n);
      return;
    case GgmlType::Q5_0:
      quantize_row_q5_0(x, static_cast<BlockQ5_0*>(dst), n);
      return;
    case GgmlType::Q5_1:
      quantize_row_q5_1(x, static_cast<BlockQ5_1*>(dst), n);
      return;
    case GgmlType::Q8_0:
      quantize_row_q8_0(x, static_cast<BlockQ8_0*>(dst), n);
      return;
    case GgmlType::Q4_K:
      quantize_row_q4_K(x, static_cast<BlockQ4_K*>(dst), n);
      return;
    case GgmlType::Q5_K:
      quantize_row_q5_K(x, static_cast<BlockQ5_K*>(dst), n);
      return;
    case GgmlType::Q6_K:
      quantize_row_q6_K(x, static_cast<BlockQ6_K*>(dst), n);
      return;
    default:
      break;
  }
  throw std::invalid_argument("quantize_row: type " + std::string(ggml_type_name(type)) +
                              " is not supported");
}

}  // namespace toolgate::engine
