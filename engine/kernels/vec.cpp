#include "engine/kernels/vec.h"

#include "engine/kernels/kernel_table.h"

namespace toolgate::engine {

float dot_f16_f32(const uint16_t* a, const float* b, int n) {
  return active_kernels().dot_f16_f32(a, b, n);
}
void axpy_f16_f32(float alpha, const uint16_t* x, float* y, int n) {
  active_kernels().axpy_f16_f32(alpha, x, y, n);
}
void f32_to_f16_row(const float* x, uint16_t* y, int n) {
  active_kernels().f32_to_f16_row(x, y, n);
}
void f16_to_f32_row(const uint16_t* x, float* y, int n) {
  active_kernels().f16_to_f32_row(x, y, n);
}
float dot_f32(const float* a, const float* b, int n) { return active_kernels().dot_f32(a, b, n); }
void axpy_f32(float alpha, const float* x, float* y, int n) {
  active_kernels().axpy_f32(alpha, x, y, n);
}
void dot_f16_f32_rows(const uint16_t* a, size_t stride, int rows, const float* b, int n,
                      float scale, float* out) {
  active_kernels().dot_f16_f32_rows(a, stride, rows, b, n, scale, out);
}
void axpy_f16_f32_rows(const float* alpha, const uint16_t* x, size_t stride, int rows, float* y,
                       int n) {
  active_kernels().axpy_f16_f32_rows(alpha, x, stride, rows, y, n);
}
void silu_mul_f32(float* x, const float* up, int n) { active_kernels().silu_mul_f32(x, up, n); }
void softmax_f32(float* x, int n) { active_kernels().softmax_f32(x, n); }
void quantize_kv_int8(const float* x, int n, int8_t* q, float* scale, float* zero) {
  active_kernels().quantize_kv_int8(x, n, q, scale, zero);
}
float dot_kv_int8_f32(const int8_t* q, float scale, float zero, const float* b, int n) {
  return active_kernels().dot_kv_int8_f32(q, scale, zero, b, n);
}
void axpy_kv_int8_f32(float alpha, const int8_t* q, float scale, float zero, float* y, int n) {
  active_kernels().axpy_kv_int8_f32(alpha, q, scale, zero, y, n);
}
void quantize_kv_int4(const float* x, int n, uint8_t* q, float* params) {
  active_kernels().quantize_kv_int4(x, n, q, params);
}
float dot_kv_int4_f32(const uint8_t* q, const float* params, const float* b, int n) {
  return active_kernels().dot_kv_int4_f32(q, params, b, n);
}
void axpy_kv_int4_f32(float alpha, const uint8_t* q, const float* params, float* y, int n) {
  active_kernels().axpy_kv_int4_f32(alpha, q, params, y, n);
}

}  // namespace toolgate::engine
