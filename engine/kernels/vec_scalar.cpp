// Portable versions of the vec.h primitives (also the reference the SIMD paths are tested on).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "engine/kernels/kernel_table.h"
#include "engine/kernels/quant_blocks.h"

namespace toolgate::engine {
namespace {

float dot_f16_f32_s(const uint16_t* a, const float* b, int n) {
  float acc = 0.0f;
  for (int j = 0; j < n; ++j) acc += fp16_to_f32(a[j]) * b[j];
  return acc;
}
void axpy_f16_f32_s(float alpha, const uint16_t* x, float* y, int n) {
  for (int j = 0; j < n; ++j) y[j] += alpha * fp16_to_f32(x[j]);
}
void f32_to_f16_row_s(const float* x, uint16_t* y, int n) {
  for (int j = 0; j < n; ++j) y[j] = f32_to_fp16(x[j]);
}
void f16_to_f32_row_s(const uint16_t* x, float* y, int n) {
  for (int j = 0; j < n; ++j) y[j] = fp16_to_f32(x[j]);
}
float dot_f32_s(const float* a, const float* b, int n) {
  float acc = 0.0f;
  for (int j = 0; j < n; ++j) acc += a[j] * b[j];
  return acc;
}
void axpy_f32_s(float alpha, const float* x, float* y, int n) {
  for (int j = 0; j < n; ++j) y[j] += alpha * x[j];
}

void quantize_kv_int8_s(const float* x, int n, int8_t* q, float* scale, float* zero) {
  float lo = n > 0 ? x[0] : 0.0f, hi = lo;
  for (int j = 1; j < n; ++j) {
    lo = std::min(lo, x[j]);
    hi = std::max(hi, x[j]);
  }
  const float s = (hi - lo) / 255.0f;
  if (!(s > 0.0f)) {
    *scale = 0.0f;
    *zero = lo;
    for (int j = 0; j < n; ++j) q[j] = 0;
    return;
  }
  // Level -128 sits at lo, 127 at hi.
  const float z = lo + 128.0f * s;
  const float inv = 1.0f / s;
  for (int j = 0; j < n; ++j) {
    const float v = std::nearbyint((x[j] - z) * inv);
    q[j] = static_cast<int8_t>(std::clamp(v, -128.0f, 127.0f));
  }
  *scale = s;
  *zero = z;
}

float dot_kv_int8_f32_s(const int8_t* q, float scale, float zero, const float* b, int n) {
  float qb = 0.0f, sb = 0.0f;
  for (int j = 0; j < n; ++j) {
    qb += static_cast<float>(q[j]) * b[j];
    sb += b[j];
  }
  return scale * qb + zero * sb;
}

void dot_f16_f32_rows_s(const uint16_t* a, size_t stride, int rows, const float* b, int n,
                        float scale, float* out) {
  for (int r = 0; r < rows; ++r) out[r] = scale * dot_f16_f32_s(a + r * stride, b, n);
}
void axpy_f16_f32_rows_s(const float* alpha, const uint16_t* x, size_t stride, int rows, float* y,
                         int n) {
  for (int r = 0; r < rows; ++r) axpy_f16_f32_s(alpha[r], x + r * stride, y, n);
}

// exp(x) = 2^k * exp(r), k = round(x / ln2), r = x - k ln2 in [-ln2/2, ln2/2]; degree 6.
// Plain comparisons for the clamp: std::fmin/fmax are libm calls at baseline x86-64.
float exp_poly_s(float x) {
  x = x < -87.0f ? -87.0f : (x > 88.0f ? 88.0f : x);
  const float k = std::nearbyint(x * 1.44269504088896341f);
  const float r = x - k * 0.693145751953125f - k * 1.428606765330187e-06f;
  float p = 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  const int32_t bits = (static_cast<int32_t>(k) + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, 4);
  return p * scale;
}

void silu_mul_f32_s(float* x, const float* up, int n) {
  for (int j = 0; j < n; ++j) x[j] = x[j] / (1.0f + exp_poly_s(-x[j])) * up[j];
}

void softmax_f32_s(float* x, int n) {
  float mx = x[0];
  for (int j = 1; j < n; ++j) mx = x[j] > mx ? x[j] : mx;
  float sum = 0.0f;
  for (int j = 0; j < n; ++j) {
    x[j] = exp_poly_s(x[j] - mx);
    sum += x[j];
  }
  const float inv = 1.0f / sum;
  for (int j = 0; j < n; ++j) x[j] *= inv;
}

void axpy_kv_int8_f32_s(float alpha, const int8_t* q, float scale, float zero, float* y, int n) {
  const float as = alpha * scale, az = alpha * zero;
  for (int j = 0; j < n; ++j) y[j] += as * static_cast<float>(q[j]) + az;
}

}  // namespace

void fill_vec_scalar(KernelTable& t) {
  t.dot_f16_f32 = dot_f16_f32_s;
  t.axpy_f16_f32 = axpy_f16_f32_s;
  t.f32_to_f16_row = f32_to_f16_row_s;
  t.f16_to_f32_row = f16_to_f32_row_s;
  t.dot_f32 = dot_f32_s;
  t.axpy_f32 = axpy_f32_s;
  t.dot_f16_f32_rows = dot_f16_f32_rows_s;
  t.axpy_f16_f32_rows = axpy_f16_f32_rows_s;
  t.silu_mul_f32 = silu_mul_f32_s;
  t.softmax_f32 = softmax_f32_s;
  t.quantize_kv_int8 = quantize_kv_int8_s;
  t.dot_kv_int8_f32 = dot_kv_int8_f32_s;
  t.axpy_kv_int8_f32 = axpy_kv_int8_f32_s;
}

}  // namespace toolgate::engine
