#include "engine/kernels/matmul.h"

#include <algorithm>
#include <new>
#include <stdexcept>
#include <string>
#include <vector>

#include "engine/kernels/dequant.h"
#include "engine/kernels/kernel_table.h"

namespace toolgate::engine {

namespace {

struct AlignedFree {
  void operator()(void* p) const { ::operator delete[](p, std::align_val_t(64)); }
};

// A 64-byte aligned array that only ever grows.
template <class T>
class GrowBuffer {
 public:
  T* ensure(size_t count) {
    if (count > capacity_) {
      ptr_.reset(static_cast<T*>(::operator new[](count * sizeof(T), std::align_val_t(64))));
      capacity_ = count;
    }
    return ptr_.get();
  }

 private:
  std::unique_ptr<T, AlignedFree> ptr_;
  size_t capacity_ = 0;
};

bool is_float_type(GgmlType t) {
  return t == GgmlType::F32 || t == GgmlType::F16 || t == GgmlType::BF16;
}

}  // namespace

struct MatmulScratch::Buffers {
  GrowBuffer<int8_t> qs;
  GrowBuffer<float> d;
  GrowBuffer<float> s16;
  GrowBuffer<float> s32;
};

MatmulScratch::MatmulScratch() : buf_(std::make_unique<Buffers>()) {}
MatmulScratch::~MatmulScratch() = default;
MatmulScratch::MatmulScratch(MatmulScratch&&) noexcept = default;
MatmulScratch& MatmulScratch::operator=(MatmulScratch&&) noexcept = default;

void matmul(const WeightView& w, const float* x, int64_t n, float* y, ThreadPool& pool,
            MatmulScratch& scratch) {
  const auto traits = ggml_type_traits(static_cast<uint32_t>(w.type));
  const KernelTable& k = active_kernels();
  const auto slot = static_cast<uint32_t>(w.type);
  if (!traits || slot >= static_cast<uint32_t>(kTypeSlots) || !k.matmul_rows[slot]) {
    throw std::invalid_argument("matmul: unsupported weight type " +
                                std::string(ggml_type_name(w.type)));
  }
  if (w.rows < 0 || w.cols <= 0 || n < 0 || w.cols % traits->block_size != 0) {
    throw std::invalid_argument("matmul: bad shape for " + std::string(traits->name) + ": rows " +
                                std::to_string(w.rows) + " cols " + std::to_string(w.cols));
  }
  if (n == 0 || w.rows == 0) return;
  const int64_t cols = w.cols;

  QuantActs qa{nullptr, nullptr, nullptr, nullptr, cols};
  if (!is_float_type(w.type)) {
    auto& b = scratch.buffers();
    const auto total = static_cast<size_t>(n * cols);
    int8_t* qs = b.qs.ensure(total);
    float* d = b.d.ensure(total / 32);
    float* s16 = b.s16.ensure(total / 16);
    float* s32 = b.s32.ensure(total / 32);
    auto quantize_rows = [&](int64_t i0, int64_t i1) {
      for (int64_t i = i0; i < i1; ++i) {
        k.quantize_acts(x + i * cols, cols, qs + i * cols, d + i * (cols / 32),
                        s16 + i * (cols / 16), s32 + i * (cols / 32));
      }
    };
    if (n >= 16 && pool.size() > 1) {
      const int tasks = pool.size();
      const int64_t per = (n + tasks - 1) / tasks;
      pool.run(tasks, [&](int t, int) {
        quantize_rows(std::min(n, t * per), std::min(n, (t + 1) * per));
      });
    } else {
      quantize_rows(0, n);
    }
    qa = QuantActs{qs, d, s16, s32, cols};
  }

  const MatmulRowsFn fn = k.matmul_rows[slot];
  const auto* wdata = static_cast<const uint8_t*>(w.data);
  const size_t row_bytes = ggml_row_size(w.type, cols);
  const int64_t rows = w.rows;
  if (pool.size() == 1) {
    fn(wdata, row_bytes, 0, rows, qa, x, cols, n, y, rows);
    return;
  }
  // About four tasks per thread: dynamic hand-out evens out a thread that gets descheduled
  // (the machine is shared) without making tasks so small that claiming them shows.
  const int64_t target_tasks = static_cast<int64_t>(pool.size()) * 4;
  int64_t chunk = (rows + target_tasks - 1) / target_tasks;
  chunk = std::max<int64_t>(4, (chunk + 3) / 4 * 4);
  const int n_tasks = static_cast<int>((rows + chunk - 1) / chunk);
  pool.run(n_tasks, [&](int t, int) {
    const int64_t r0 = t * chunk;
    const int64_t r1 = std::min(rows, r0 + chunk);
    fn(wdata, row_bytes, r0, r1, qa, x, cols, n, y, rows);
  });
}

void matmul_ref(const WeightView& w, const float* x, int64_t n, float* y) {
  const size_t row_bytes = ggml_row_size(w.type, w.cols);
  std::vector<float> row(static_cast<size_t>(w.cols));
  for (int64_t r = 0; r < w.rows; ++r) {
    dequantize_row(w.type, static_cast<const uint8_t*>(w.data) + r * row_bytes, row.data(), w.cols);
    for (int64_t i = 0; i < n; ++i) {
      double acc = 0.0;
      for (int64_t j = 0; j < w.cols; ++j) acc += static_cast<double>(row[j]) * x[i * w.cols + j];
      y[i * w.rows + r] = static_cast<float>(acc);
    }
  }
}

}  // namespace toolgate::engine
