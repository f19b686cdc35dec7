#pragma once
// Internal: the per-ISA kernel entry points. Each of kernels_scalar.cpp / kernels_avx2.cpp /
// kernels_avx512.cpp fills one table; kernel_dispatch.cpp picks the table for active_isa().
#include <cstddef>
#include <cstdint>

#include "engine/ggml_type.h"
#include "engine/kernels/cpu_features.h"

namespace toolgate::engine {

// n rows of activations quantized per 32 elements: row i is qs[i*cols ..], its block b has
// scale d[i*cols/32 + b]; s16[i*cols/16 + g] = d * sum(qs over 16-element group g) and
// s32[i*cols/32 + b] = s16[2b] + s16[2b+1] (precomputed: the offset term of every type with a
// min or a stored bias needs it once per block and activation row).
// Rows start 64-byte aligned (cols is a multiple of 32).
struct QuantActs {
  const int8_t* qs;
  const float* d;
  const float* s16;
  const float* s32;
  int64_t cols;
};

// Activation rows processed together against each task's weight rows: 64 rows of up to ~5k
// int8 columns stay in L2 while the weight rows pass over them.
inline constexpr int64_t kActRowBlock = 64;

// Computes y[i*ldy + r] for r in [r0, r1), i in [0, n). Quantized weight types read `qa`;
// float weight types read the raw activations `x` (row i at x + i*cols).
using MatmulRowsFn = void (*)(const uint8_t* w, size_t row_bytes, int64_t r0, int64_t r1,
                              const QuantActs& qa, const float* x, int64_t cols, int64_t n,
                              float* y, int64_t ldy);

// Quantizes one activation row of `cols` (multiple of 32) elements into the QuantActs layout.
using QuantizeActsFn = void (*)(const float* x, int64_t cols, int8_t* qs, float* d, float* s16,
                                float* s32);

inline constexpr int kTypeSlots = 31;  // indexed by GgmlType value (BF16 = 30 is the largest)

struct KernelTable {
  IsaLevel isa;
  MatmulRowsFn matmul_rows[kTypeSlots];  // nullptr = type not handled
  QuantizeActsFn quantize_acts;
  // Weights packed by pack_weights_x16 (r0, r1 multiples of 16), by type; nullptr = none.
  MatmulRowsFn matmul_rows_x16[kTypeSlots];
  // vec.h primitives
  float (*dot_f16_f32)(const uint16_t* a, const float* b, int n);
  void (*axpy_f16_f32)(float alpha, const uint16_t* x, float* y, int n);
  void (*f32_to_f16_row)(const float* x, uint16_t* y, int n);
  void (*f16_to_f32_row)(const uint16_t* x, float* y, int n);
  float (*dot_f32)(const float* a, const float* b, int n);
  void (*axpy_f32)(float alpha, const float* x, float* y, int n);
  void (*dot_f16_f32_rows)(const uint16_t* a, size_t stride, int rows, const float* b, int n,
                           float scale, float* out);
  void (*axpy_f16_f32_rows)(const float* alpha, const uint16_t* x, size_t stride, int rows,
                            float* y, int n);
  void (*silu_mul_f32)(float* x, const float* up, int n);
  void (*softmax_f32)(float* x, int n);
  void (*quantize_kv_int8)(const float* x, int n, int8_t* q, float* scale, float* zero);
  float (*dot_kv_int8_f32)(const int8_t* q, float scale, float zero, const float* b, int n);
  void (*axpy_kv_int8_f32)(float alpha, const int8_t* q, float scale, float zero, float* y, int n);
  void (*quantize_kv_int4)(const float* x, int n, uint8_t* q, float* params);
  float (*dot_kv_int4_f32)(const uint8_t* q, const float* params, const float* b, int n);
  void (*axpy_kv_int4_f32)(float alpha, const uint8_t* q, const float* params, float* y, int n);
};

const KernelTable& kernel_table_scalar();
const KernelTable& kernel_table_avx2();
const KernelTable& kernel_table_avx512();

// Each vec_<isa>.cpp fills the vec.h entries of a table (the matmul_<isa>.cpp builders call it).
void fill_vec_scalar(KernelTable& t);
void fill_vec_avx2(KernelTable& t);
void fill_vec_avx512(KernelTable& t);

// The one dispatch point: the table for active_isa().
const KernelTable& active_kernels();

}  // namespace toolgate::engine
