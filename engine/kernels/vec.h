#pragma once
// Small vector primitives for attention and norms, dispatched on active_isa() like matmul.
// f16 = IEEE half stored as uint16_t (KV cache rows); results match the scalar path up to
// float summation order.
#include <cstddef>
#include <cstdint>

namespace toolgate::engine {

float dot_f16_f32(const uint16_t* a, const float* b, int n);
void axpy_f16_f32(float alpha, const uint16_t* x, float* y, int n);  // y += alpha * x
void f32_to_f16_row(const float* x, uint16_t* y, int n);             // round to nearest even
void f16_to_f32_row(const uint16_t* x, float* y, int n);
float dot_f32(const float* a, const float* b, int n);
void axpy_f32(float alpha, const float* x, float* y, int n);  // y += alpha * x
// Attention over the rows of one KV block (rows `stride` elements apart), one call per block
// instead of one per position: out[r] = scale * dot(a + r*stride, b) for r < rows, and
// y += sum_r alpha[r] * x_r (the AVX2 path keeps y in registers across the rows).
void dot_f16_f32_rows(const uint16_t* a, size_t stride, int rows, const float* b, int n,
                      float scale, float* out);
void axpy_f16_f32_rows(const float* alpha, const uint16_t* x, size_t stride, int rows, float* y,
                       int n);
// x[j] = silu(x[j]) * up[j], exp by the same degree-6 polynomial as ops::fast_exp.
void silu_mul_f32(float* x, const float* up, int n);
// In-place softmax over n > 0 values (max-subtracted, polynomial exp).
void softmax_f32(float* x, int n);

// int8 KV rows, asymmetric per row: x[j] ~= scale * q[j] + zero, q in [-128, 127] spanning
// [min(x), max(x)] (scale = (max - min) / 255). A constant row gets scale 0, zero = x[0].
void quantize_kv_int8(const float* x, int n, int8_t* q, float* scale, float* zero);
// sum_j (scale * q[j] + zero) * b[j]
float dot_kv_int8_f32(const int8_t* q, float scale, float zero, const float* b, int n);
// y[j] += alpha * (scale * q[j] + zero)
void axpy_kv_int8_f32(float alpha, const int8_t* q, float scale, float zero, float* y, int n);

// int4 KV rows (LMDeploy's quant_policy 4), asymmetric per group of kKvInt4Group values:
// x[j] ~= scale * q[j] + zero, q in [0, 15] spanning [min, max] of the group (scale =
// (max - min) / 15, zero = min; a constant group gets scale 0). A group takes 16 bytes: byte j
// holds q[j] in its low nibble and q[j + 16] in its high one (Q4_0's order, so SIMD unpacks a
// group with one mask and one shift). `params` holds (scale, zero) per group; n is a multiple
// of kKvInt4Group.
inline constexpr int kKvInt4Group = 32;
void quantize_kv_int4(const float* x, int n, uint8_t* q, float* params);
// sum_j (scale_g * q[j] + zero_g) * b[j]
float dot_kv_int4_f32(const uint8_t* q, const float* params, const float* b, int n);
// y[j] += alpha * (scale_g * q[j] + zero_g)
void axpy_kv_int4_f32(float alpha, const uint8_t* q, const float* params, float* y, int n);

}  // namespace toolgate::engine
