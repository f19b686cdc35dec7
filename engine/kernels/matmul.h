#pragma once
// Y = X * W^T for GGUF weights of any type dequantize_row reads.
//
// Quantized weights: activations are quantized on the fly to 8 bits per 32-element block
// (f32 scale, plus f32 block sums so types with a min / an offset need no extra pass), then
// the inner products run in integers (AVX-512 VNNI vpdpbusd, AVX2 maddubs/madd, or scalar).
// F32/F16/BF16 weights use float dot products on the raw activations.
// For n > 1 each weight row is decoded once per group of 4 activation rows and stays in L1
// while all n activation rows pass over it, so weights stream from memory once per call.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "engine/ggml_type.h"
#include "engine/kernels/thread_pool.h"

namespace toolgate::engine {

// `rows` rows of `cols` elements, GGUF layout (ne[0] = cols), rows contiguous.
struct WeightView {
  GgmlType type;
  const void* data;
  int64_t rows;
  int64_t cols;
  // Optional load-time repack of `data` (pack_weights_x16); used when the active ISA has a
  // kernel for it, `data` otherwise. Not owned.
  const void* packed = nullptr;
};

// Reusable buffers for the quantized activations. Grows to the largest (n, cols) seen and then
// allocates nothing. One per thread that calls matmul (not shared between concurrent calls).
class MatmulScratch {
 public:
  MatmulScratch();
  ~MatmulScratch();
  MatmulScratch(MatmulScratch&&) noexcept;
  MatmulScratch& operator=(MatmulScratch&&) noexcept;

  struct Buffers;
  Buffers& buffers() { return *buf_; }

 private:
  std::unique_ptr<Buffers> buf_;
};

// y[i * w.rows + r] = sum_j W[r][j] * x[i * w.cols + j] for i < n, r < w.rows.
// Quantized types need cols to be a multiple of the block size (32, or 256 for K-quants).
// Throws std::invalid_argument for an unsupported type or shape.
void matmul(const WeightView& w, const float* x, int64_t n, float* y, ThreadPool& pool,
            MatmulScratch& scratch);

// One weight matrix and where its product goes (y laid out as for matmul()).
struct MatmulTarget {
  WeightView w;
  float* y;
};
// Several products of the same activations (q/k/v, gate/up) in one call: x is quantized once
// and the rows of all matrices are spread over one pool run, so a decode step pays one
// fork/join instead of one per matrix. All matrices must have the same cols; at most 4.
void matmul_multi(std::span<const MatmulTarget> targets, const float* x, int64_t n,
                  ThreadPool& pool, MatmulScratch& scratch);

// Load-time repack for Q4_0/Q4_1/Q5_0/Q5_1/Q8_0/Q4_K/Q6_K (the AVX-512 VNNI path): rows in groups of 16, each group
// block-major; per 32-column block 16 fp16 scales d, 16 fp16 offsets m (w = d * u + m with u
// unsigned; Q4_0 / Q5_0 / Q8_0 store no m: it is -8 d / -16 d / -128 d, formed by the kernel, so
// the packed stream is exactly as long as the GGUF one), then the quants: Q4: 4 x 64 bytes where bytes 4r..4r+3 of part s are row r's
// qs[4s..4s+3] (nibbles as stored); Q5: the Q4 parts, then 8 x 64-bit masks (4 for the low
// nibbles, 4 for the high ones) whose bit b sets bit 4 of byte b of that part; Q8_0: 8 x 64
// bytes like the Q4 parts, each byte + 128 (m = -128 d).
// One vpdpbusd then adds four products for all 16 rows at once (lane = row), so a block costs
// 8 dot instructions per 16 rows instead of 16 dots + 16 converts + 16 broadcasts + horizontal
// sums per activation row.
// Q4_K / Q6_K (cols % 256 == 0): one record per 16 rows x 256 columns (a super-block):
//   Q4_K, 2304 bytes (as many as the GGUF rows): 16 fp16 d, 16 fp16 -dmin, the 16 rows' 6-bit
//     scales of the 8 chunks at 64 (byte 16j + r: low nibbles of chunks j and j + 4; byte
//     64 + 16i + r: top 2 bits of chunks i, i + 2, i + 4, i + 6 at bits 0-1, 2-3, 4-5, 6-7), the
//     mins the same way at 160, then 8 x 256 bytes of Q4 parts as above (low nibble = element j,
//     high = element j + 16 of the chunk); w = d * sc * u + (-dmin) * m.
//   Q6_K, 3392 bytes: 16 fp16 d, 32 zero bytes, the int8 scales of chunk k's elements 0-15 at
//     64 + 32k and of 16-31 at 64 + 32k + 16 (16 rows each), then per chunk 256 bytes of Q4
//     parts (the low 4 bits) + 64 bytes whose bits 2s..2s+1 are the top 2 bits of the lo part s
//     byte at the same offset + 64 bytes the same for the hi parts; w = d * sc * (u - 32).
// Returns 0 when w cannot be packed (type, rows % 16, or no packed kernel on the active ISA).
size_t packed_size_x16(const WeightView& w);
// Writes packed_size_x16(w) bytes to dst (64-byte aligned).
void pack_weights_x16(const WeightView& w, uint8_t* dst);

// ---- For tests -------------------------------------------------------------------------------
// Naive reference: dequantize each weight row to f32, dot in double. Single-threaded.
void matmul_ref(const WeightView& w, const float* x, int64_t n, float* y);

}  // namespace toolgate::engine
