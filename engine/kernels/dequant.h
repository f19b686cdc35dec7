#pragma once
// Row conversion between f32 and the GGUF tensor types.
//  - dequantize_row: any weight type the engine reads, GGUF block layout in, f32 out.
//  - quantize_row_q8_*: activation quantizers (symmetric 8-bit, per block).
//  - quantize_row_q4_0 .. q6_K: simple reference weight quantizers (round-to-nearest, no search);
//    they produce valid blocks for tests and benchmarks, not llama.cpp-quality weights.
// n is the number of elements and must be a multiple of the type's block size
// (std::invalid_argument otherwise, or for a type that is not handled).
#include <cstdint>

#include "engine/ggml_type.h"
#include "engine/kernels/quant_blocks.h"

namespace toolgate::engine {

// Types: F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q4_K, Q5_K, Q6_K.
void dequantize_row(GgmlType type, const void* src, float* dst, int64_t n);

// Activations. d = amax / 127 per block, q = round(x / d).
void quantize_row_q8_0(const float* x, BlockQ8_0* y, int64_t n);
void quantize_row_q8_1(const float* x, BlockQ8_1* y, int64_t n);  // also s = d * sum(q)
void quantize_row_q8_K(const float* x, BlockQ8_K* y, int64_t n);  // also bsums per 16

// Reference weight quantizers.
void quantize_row_q4_0(const float* x, BlockQ4_0* y, int64_t n);
void quantize_row_q4_1(const float* x, BlockQ4_1* y, int64_t n);
void quantize_row_q5_0(const float* x, BlockQ5_0* y, int64_t n);
void quantize_row_q5_1(const float* x, BlockQ5_1* y, int64_t n);
void quantize_row_q4_K(const float* x, BlockQ4_K* y, int64_t n);
void quantize_row_q5_K(const float* x, BlockQ5_K* y, int64_t n);
void quantize_row_q6_K(const float* x, BlockQ6_K* y, int64_t n);

// Any type dequantize_row reads (F32/F16/BF16 are plain conversions); for tests and benches.
// dst holds ggml_row_size(type, n) bytes.
void quantize_row(GgmlType type, const float* x, void* dst, int64_t n);

}  // namespace toolgate::engine
