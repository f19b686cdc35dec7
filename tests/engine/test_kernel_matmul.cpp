// matmul vs matmul_ref for every weight type, every ISA path this CPU runs, several batch
// sizes and odd row counts.
//
// Error bound (quantized weights): activations are quantized per 32-element block with
// d = amax/127 and q = round(x/d), so |x_j - d*q_j| <= d/2 = amax_b/254. The weights are the
// exact dequantized values in both paths, so |y - y_ref| <= sum_b (amax_b/254) * sum_{j in b}
// |w_j| (+ float rounding, bounded by 1e-5 * sum |w_j x_j|). The test checks this per output.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "engine/kernels/cpu_features.h"
#include "engine/kernels/dequant.h"
#include "engine/kernels/matmul.h"

namespace toolgate::engine {
namespace {

struct IsaGuard {
  explicit IsaGuard(IsaLevel l) { force_isa(l); }
  ~IsaGuard() { reset_isa(); }
};

std::vector<IsaLevel> available_isas() {
  std::vector<IsaLevel> out;
  for (int l = 0; l <= static_cast<int>(detected_isa()); ++l)
    out.push_back(static_cast<IsaLevel>(l));
  return out;
}

const GgmlType kAllTypes[] = {GgmlType::F32,  GgmlType::F16,  GgmlType::BF16, GgmlType::Q4_0,
                              GgmlType::Q4_1, GgmlType::Q5_0, GgmlType::Q5_1, GgmlType::Q8_0,
                              GgmlType::Q4_K, GgmlType::Q5_K, GgmlType::Q6_K};

bool is_float(GgmlType t) {
  return t == GgmlType::F32 || t == GgmlType::F16 || t == GgmlType::BF16;
}

uint16_t random_half(std::mt19937& rng, float lo, float hi) {
  return f32_to_fp16(std::uniform_real_distribution<float>(lo, hi)(rng));
}

// Weights either from the reference quantizer on random values, or random bytes (every bit
// pattern: extreme quants, all 6-bit scales) with sane fp16 scale fields patched in.
std::vector<uint8_t> make_weights(GgmlType type, int64_t rows, int64_t cols, bool random_bytes,
                                  std::mt19937& rng) {
  const size_t row_bytes = ggml_row_size(type, cols);
  std::vector<uint8_t> w(row_bytes * static_cast<size_t>(rows));
  if (!random_bytes || is_float(type)) {
    std::normal_distribution<float> g(0.0f, 0.5f);
    std::vector<float> row(static_cast<size_t>(cols));
    for (int64_t r = 0; r < rows; ++r) {
      for (auto& v : row) v = g(rng);
      quantize_row(type, row.data(), w.data() + r * row_bytes, cols);
    }
    return w;
  }
  for (auto& b : w) b = static_cast<uint8_t>(rng());
  const auto traits = *ggml_type_traits(static_cast<uint32_t>(type));
  const size_t nblocks = w.size() / traits.type_size;
  for (size_t i = 0; i < nblocks; ++i) {
    uint8_t* blk = w.data() + i * traits.type_size;
    auto put = [&](size_t off, uint16_t h) { std::memcpy(blk + off, &h, 2); };
    switch (type) {
      case GgmlType::Q4_1:
      case GgmlType::Q5_1:
        put(0, random_half(rng, -0.1f, 0.1f));
        put(2, random_half(rng, -1.0f, 1.0f));
        break;
      case GgmlType::Q4_K:
      case GgmlType::Q5_K:
        put(0, random_half(rng, 0.0f, 0.01f));
        put(2, random_half(rng, 0.0f, 0.01f));
        break;
      case GgmlType::Q6_K:
        put(208, random_half(rng, -0.001f, 0.001f));
        break;
      default:
        put(0, random_half(rng, -0.1f, 0.1f));
        break;  // Q4_0 Q5_0 Q8_0
    }
  }
  return w;
}

std::vector<float> make_acts(int64_t n, int64_t cols, std::mt19937& rng) {
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<float> x(static_cast<size_t>(n * cols));
  for (auto& v : x) v = u(rng);
  if (cols >= 64) {
    for (int64_t i = 0; i < n; i += 2)
      std::fill_n(x.begin() + i * cols + 32, 32, 0.0f);  // amax = 0
    x[static_cast<size_t>(cols / 2)] = 40.0f;            // an outlier dominating its block
  }
  return x;
}

void check_matmul(GgmlType type, int64_t rows, int64_t cols, int64_t n, bool random_bytes,
                  ThreadPool& pool, MatmulScratch& scratch, uint32_t seed,
                  const void* packed = nullptr) {
  std::mt19937 rng(seed);
  const auto w = make_weights(type, rows, cols, random_bytes, rng);
  const auto x = make_acts(n, cols, rng);
  WeightView view{type, w.data(), rows, cols};
  // The packed copy must come from the same weights: callers pass a buffer to fill.
  if (packed) {
    pack_weights_x16(view, static_cast<uint8_t*>(const_cast<void*>(packed)));
    view.packed = packed;
  }
  std::vector<float> y(static_cast<size_t>(n * rows), NAN), ref(static_cast<size_t>(n * rows));
  matmul(view, x.data(), n, y.data(), pool, scratch);
  matmul_ref(view, x.data(), n, ref.data());

  const size_t row_bytes = ggml_row_size(type, cols);
  std::vector<float> wrow(static_cast<size_t>(cols));
  for (int64_t r = 0; r < rows; ++r) {
    dequantize_row(type, w.data() + r * row_bytes, wrow.data(), cols);
    for (int64_t i = 0; i < n; ++i) {
      const float* xi = x.data() + i * cols;
      double bound = 0.0, mag = 0.0;
      for (int64_t b = 0; b < cols / 32; ++b) {
        double amax = 0.0, wsum = 0.0;
        for (int j = 0; j < 32; ++j) {
          amax = std::max(amax, static_cast<double>(std::fabs(xi[32 * b + j])));
          wsum += std::fabs(wrow[32 * b + j]);
          mag += std::fabs(wrow[32 * b + j] * xi[32 * b + j]);
        }
        if (!is_float(type)) bound += amax / 254.0 * wsum;
      }
      bound += 1e-5 * mag + 1e-6;
      const float got = y[i * rows + r], want = ref[i * rows + r];
      ASSERT_LE(std::fabs(static_cast<double>(got) - want), bound)
          << ggml_type_name(type) << " isa=" << isa_name(active_isa()) << " rows=" << rows
          << " cols=" << cols << " n=" << n << " r=" << r << " i=" << i
          << " random_bytes=" << random_bytes << " got=" << got << " want=" << want;
    }
  }
}

TEST(KernelMatmul, MatchesReferenceForEveryTypeIsaAndBatch) {
  ThreadPool pool1(1), pool2(2);
  MatmulScratch scratch;
  uint32_t seed = 1;
  for (IsaLevel isa : available_isas()) {
    IsaGuard guard(isa);
    for (GgmlType type : kAllTypes) {
      for (int64_t n : {1, 3, 17}) {
        for (bool random_bytes : {false, true}) {
          check_matmul(type, 37, 512, n, random_bytes, n == 3 ? pool1 : pool2, scratch, seed++);
        }
      }
    }
  }
}

TEST(KernelMatmul, HandlesSmallAndOddShapes) {
  ThreadPool pool(2);
  MatmulScratch scratch;
  uint32_t seed = 100;
  for (IsaLevel isa : available_isas()) {
    IsaGuard guard(isa);
    for (GgmlType type : kAllTypes) {
      const bool k_quant =
          type == GgmlType::Q4_K || type == GgmlType::Q5_K || type == GgmlType::Q6_K;
      const int64_t cols =
          is_float(type) ? 45 : (k_quant ? 256 : 352);  // 352: a group of 8 + 3-block tail
      for (int64_t rows : {1, 5, 131}) {
        for (int64_t n : {1, 2, 4, 5, 8})
          check_matmul(type, rows, cols, n, true, pool, scratch, seed++);
      }
    }
  }
}

TEST(KernelMatmul, LargerMatrixAcrossThreads) {
  ThreadPool pool(2);
  MatmulScratch scratch;
  for (IsaLevel isa : available_isas()) {
    IsaGuard guard(isa);
    for (GgmlType type :
         {GgmlType::Q4_1, GgmlType::Q8_0, GgmlType::Q4_K, GgmlType::Q6_K, GgmlType::Q5_0}) {
      check_matmul(type, 301, 1536, 5, false, pool, scratch, 7);
    }
  }
}

TEST(KernelMatmul, PackedX16MatchesReference) {
  ThreadPool pool1(1), pool2(2);
  MatmulScratch scratch;
  uint32_t seed = 500;
  for (GgmlType type : {GgmlType::Q4_0, GgmlType::Q4_1, GgmlType::Q5_0, GgmlType::Q5_1,
                        GgmlType::Q8_0, GgmlType::Q4_K, GgmlType::Q6_K}) {
    const bool k_quant = type == GgmlType::Q4_K || type == GgmlType::Q6_K;
    for (int64_t rows : {16, 48, 320}) {
      for (int64_t cols : k_quant ? std::vector<int64_t>{256, 768} : std::vector<int64_t>{64, 576}) {
        const WeightView probe{type, nullptr, rows, cols};
        const size_t bytes = packed_size_x16(probe);
        if (bytes == 0) GTEST_SKIP() << "no packed kernel on " << isa_name(active_isa());
        std::vector<uint8_t> storage(bytes + 64);
        void* buf = storage.data() + (64 - reinterpret_cast<uintptr_t>(storage.data()) % 64) % 64;
        // Packed on the detected ISA; the lower ISAs must fall back to the unpacked rows.
        for (IsaLevel isa : available_isas()) {
          IsaGuard guard(isa);
          for (int64_t n : {1, 3, 4, 5, 17, 70}) {
            for (bool random_bytes : {false, true}) {
              check_matmul(type, rows, cols, n, random_bytes, n % 2 ? pool1 : pool2, scratch,
                           seed++, buf);
            }
          }
        }
      }
    }
  }
  EXPECT_EQ(packed_size_x16(WeightView{GgmlType::Q4_1, nullptr, 17, 64}), 0u);
  EXPECT_EQ(packed_size_x16(WeightView{GgmlType::Q4_K, nullptr, 16, 128}), 0u);  // cols % 256
  EXPECT_EQ(packed_size_x16(WeightView{GgmlType::Q5_K, nullptr, 16, 256}), 0u);
}

TEST(KernelMatmul, RejectsBadShapesAndTypes) {
  ThreadPool pool(1);
  MatmulScratch scratch;
  std::vector<uint8_t> w(4096);
  std::vector<float> x(512), y(512);
  EXPECT_THROW(matmul({GgmlType::Q4_0, w.data(), 2, 48}, x.data(), 1, y.data(), pool, scratch),
               std::invalid_argument);
  EXPECT_THROW(matmul({GgmlType::Q4_K, w.data(), 2, 128}, x.data(), 1, y.data(), pool, scratch),
               std::invalid_argument);
  EXPECT_THROW(matmul({GgmlType::Q2_K, w.data(), 1, 256}, x.data(), 1, y.data(), pool, scratch),
               std::invalid_argument);
}

TEST(KernelCpuFeatures, ForcingAnUnsupportedLevelThrows) {
  if (detected_isa() == IsaLevel::Avx512) GTEST_SKIP() << "every level is supported here";
  EXPECT_THROW(force_isa(IsaLevel::Avx512), std::invalid_argument);
}

}  // namespace
}  // namespace toolgate::engine
