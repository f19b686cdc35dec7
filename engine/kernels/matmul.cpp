#include "engine/kernels/matmul.h"

#include <algorithm>
#include <cstring>
#include <new>
#include <stdexcept>
#include <string>
#include <vector>

#include "engine/kernels/dequant.h"
#include "engine/kernels/kernel_table.h"
#include "engine/kernels/quant_blocks.h"

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
  const MatmulTarget t{w, y};
  matmul_multi(std::span<const MatmulTarget>(&t, 1), x, n, pool, scratch);
}

void matmul_multi(std::span<const MatmulTarget> targets, const float* x, int64_t n,
                  ThreadPool& pool, MatmulScratch& scratch) {
  constexpr size_t kMaxTargets = 4;
  if (targets.empty()) return;
  if (targets.size() > kMaxTargets) throw std::invalid_argument("matmul_multi: too many targets");
  const KernelTable& k = active_kernels();
  const int64_t cols = targets[0].w.cols;
  bool any_quant = false;
  int64_t total_rows = 0;
  for (const MatmulTarget& t : targets) {
    const WeightView& w = t.w;
    const auto traits = ggml_type_traits(static_cast<uint32_t>(w.type));
    const auto slot = static_cast<uint32_t>(w.type);
    if (!traits || slot >= static_cast<uint32_t>(kTypeSlots) || !k.matmul_rows[slot]) {
      throw std::invalid_argument("matmul: unsupported weight type " +
                                  std::string(ggml_type_name(w.type)));
    }
    if (w.rows < 0 || w.cols <= 0 || n < 0 || w.cols % traits->block_size != 0 ||
        w.cols != cols) {
      throw std::invalid_argument("matmul: bad shape for " + std::string(traits->name) +
                                  ": rows " + std::to_string(w.rows) + " cols " +
                                  std::to_string(w.cols));
    }
    any_quant = any_quant || !is_float_type(w.type);
    total_rows += w.rows;
  }
  if (n == 0 || total_rows == 0) return;

  QuantActs qa{nullptr, nullptr, nullptr, nullptr, cols};
  if (any_quant) {
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

  struct Job {
    MatmulRowsFn fn;
    const uint8_t* w;
    size_t row_bytes;
    int64_t rows;
    float* y;
  };
  Job jobs[kMaxTargets];
  for (size_t i = 0; i < targets.size(); ++i) {
    const WeightView& w = targets[i].w;
    const MatmulRowsFn packed_fn = k.matmul_rows_x16[static_cast<uint32_t>(w.type)];
    if (w.packed && packed_fn) {
      jobs[i] = Job{packed_fn, static_cast<const uint8_t*>(w.packed), 0, w.rows, targets[i].y};
    } else {
      jobs[i] = Job{k.matmul_rows[static_cast<uint32_t>(w.type)],
                    static_cast<const uint8_t*>(w.data), ggml_row_size(w.type, cols), w.rows,
                    targets[i].y};
    }
  }
  const size_t n_jobs = targets.size();
  if (pool.size() == 1) {
    for (size_t j = 0; j < n_jobs; ++j)
      jobs[j].fn(jobs[j].w, jobs[j].row_bytes, 0, jobs[j].rows, qa, x, cols, n, jobs[j].y,
                 jobs[j].rows);
    return;
  }
  // Guided self-scheduling over all matrices' rows: each task takes 1/(2 * threads) of what is
  // left, in multiples of 16 rows (the packed layout's unit, whole y cache lines), down to 16.
  // Big tasks first keep claims few; small ones last mean the threads finish together instead
  // of one idling through the other's last quarter-matrix task (a decode step has ~150 of
  // these joins). Dynamic hand-out still covers a thread that gets descheduled.
  struct Task {
    int job;
    int64_t r0, r1;
  };
  constexpr int kMaxTasks = 512;
  Task tasks[kMaxTasks];
  int n_tasks = 0;
  const int64_t divisor = 2 * static_cast<int64_t>(pool.size());
  int64_t left = total_rows;
  for (size_t j = 0; j < n_jobs; ++j) {
    for (int64_t r = 0; r < jobs[j].rows;) {
      int64_t size = std::max<int64_t>(16, left / divisor / 16 * 16);
      // (Only with hundreds of threads: the rest of each matrix becomes one task.)
      if (n_tasks >= kMaxTasks - static_cast<int>(kMaxTargets)) size = jobs[j].rows;
      const int64_t r1 = std::min(jobs[j].rows, r + size);
      tasks[n_tasks++] = Task{static_cast<int>(j), r, r1};
      left -= r1 - r;
      r = r1;
    }
  }
  auto run_task = [&](int t, int) {
    const Task& task = tasks[t];
    const Job& job = jobs[task.job];
    job.fn(job.w, job.row_bytes, task.r0, task.r1, qa, x, cols, n, job.y, job.rows);
  };
  pool.run(n_tasks, run_task);
}

namespace {
// Q4_0 / Q5_0 / Q8_0: w = d * u + k * d with a fixed k, so the packed block stores only d.
bool has_implied_offset(GgmlType t) {
  return t == GgmlType::Q4_0 || t == GgmlType::Q5_0 || t == GgmlType::Q8_0;
}
// Bytes per 16 rows x 32 columns (K-quants: an eighth of their 256-column record).
size_t packed_block_bytes_x16(GgmlType t) {
  if (t == GgmlType::Q4_K) return 2304 / 8;
  if (t == GgmlType::Q6_K) return 3392 / 8;
  const size_t header = has_implied_offset(t) ? 32 : 64;
  if (t == GgmlType::Q8_0) return header + 8 * 64;
  if (t == GgmlType::Q5_0 || t == GgmlType::Q5_1) return header + 4 * 64 + 64;
  return header + 4 * 64;
}
}  // namespace

size_t packed_size_x16(const WeightView& w) {
  const auto slot = static_cast<uint32_t>(w.type);
  const bool k_quant = w.type == GgmlType::Q4_K || w.type == GgmlType::Q6_K;
  if ((w.type != GgmlType::Q4_0 && w.type != GgmlType::Q4_1 && w.type != GgmlType::Q5_0 &&
       w.type != GgmlType::Q5_1 && w.type != GgmlType::Q8_0 && !k_quant) ||
      w.rows <= 0 || w.rows % 16 != 0 || w.cols <= 0 || w.cols % (k_quant ? 256 : 32) != 0 ||
      !active_kernels().matmul_rows_x16[slot]) {
    return 0;
  }
  return static_cast<size_t>(w.rows / 16) * static_cast<size_t>(w.cols / 32) *
         packed_block_bytes_x16(w.type);
}

namespace {

// One row's super-block of a K-quant as plain numbers: u[e] the stored unsigned quant of
// element e, and the integer scale (and min) of each sub-block (8 of 32 for Q4_K, 16 of 16 for
// Q6_K); w[e] = d * sc * u - dmin * m (Q4_K) or d * sc * (u - 32) (Q6_K).
struct KSuper {
  uint16_t d, dmin;
  uint8_t u[256];
  int sc[16], m[8];
};

KSuper read_q4_K(const BlockQ4_K& b) {
  KSuper k{};
  k.d = b.d;
  k.dmin = b.dmin;
  for (int j = 0; j < 8; ++j) {
    uint8_t sc, m;
    unpack_scale_min_k4(j, b.scales, &sc, &m);
    k.sc[j] = sc;
    k.m[j] = m;
  }
  for (int c = 0; c < 4; ++c) {
    for (int l = 0; l < 32; ++l) {
      k.u[64 * c + l] = b.qs[32 * c + l] & 0xF;
      k.u[64 * c + 32 + l] = b.qs[32 * c + l] >> 4;
    }
  }
  return k;
}

KSuper read_q6_K(const BlockQ6_K& b) {
  KSuper k{};
  k.d = b.d;
  for (int j = 0; j < 16; ++j) k.sc[j] = b.scales[j];
  for (int e = 0; e < 256; ++e) {
    const int h = e / 128, quarter = e % 128 / 32, l = e % 32;
    const uint8_t ql = b.ql[64 * h + l + 32 * (quarter % 2)];
    const uint8_t lo = quarter < 2 ? ql & 0xF : ql >> 4;
    k.u[e] = static_cast<uint8_t>(lo | ((b.qh[32 * h + l] >> (2 * quarter)) & 3) << 4);
  }
  return k;
}

// Layouts in matmul.h. dst points at the (16-row group, super-block) record.
void pack_k_super_x16(GgmlType type, const KSuper (&rows)[16], uint8_t* dst) {
  auto* dm = reinterpret_cast<uint16_t*>(dst);
  const bool q6 = type == GgmlType::Q6_K;
  std::memset(dst, 0, q6 ? 320 : 256);
  for (int r = 0; r < 16; ++r) {
    const KSuper& k = rows[r];
    dm[r] = k.d;
    if (!q6) {
      dm[16 + r] = static_cast<uint16_t>(k.dmin ^ 0x8000u);  // -dmin
      // 6-bit scales (at 64) and mins (at 160): low nibbles of chunks j and j + 4 share a byte,
      // the top 2 bits of chunks i, i + 2, i + 4, i + 6 another (bits 0-1, 2-3, 4-5, 6-7).
      for (int f = 0; f < 2; ++f) {
        const int* v = f == 0 ? k.sc : k.m;
        uint8_t* out = dst + 64 + 96 * f;
        for (int j = 0; j < 4; ++j)
          out[16 * j + r] = static_cast<uint8_t>((v[j] & 0xF) | (v[j + 4] & 0xF) << 4);
        for (int i = 0; i < 2; ++i) {
          uint8_t hi = 0;
          for (int q = 0; q < 4; ++q) hi |= static_cast<uint8_t>((v[i + 2 * q] >> 4) << (2 * q));
          out[64 + 16 * i + r] = hi;
        }
      }
    } else {
      for (int j = 0; j < 16; ++j)
        dst[64 + 32 * (j / 2) + 16 * (j % 2) + r] = static_cast<uint8_t>(k.sc[j]);
    }
  }
  const int chunk_bytes = q6 ? 384 : 256;
  const int quants = q6 ? 320 : 256;
  for (int c = 0; c < 8; ++c) {
    uint8_t* qs = dst + quants + chunk_bytes * c;
    std::memset(qs, 0, static_cast<size_t>(chunk_bytes));
    for (int r = 0; r < 16; ++r) {
      const uint8_t* u = rows[r].u + 32 * c;
      for (int s = 0; s < 4; ++s) {
        for (int i = 0; i < 4; ++i) {
          const int b = 4 * r + i, e = 4 * s + i;
          qs[64 * s + b] = static_cast<uint8_t>((u[e] & 0xF) | (u[e + 16] & 0xF) << 4);
          if (q6) {
            qs[256 + b] |= static_cast<uint8_t>((u[e] >> 4) << (2 * s));
            qs[320 + b] |= static_cast<uint8_t>((u[e + 16] >> 4) << (2 * s));
          }
        }
      }
    }
  }
}

void pack_k_quant_x16(const WeightView& w, uint8_t* dst) {
  const int64_t nsb = w.cols / 256;
  const size_t row_bytes = ggml_row_size(w.type, w.cols);
  const size_t super_bytes = 8 * packed_block_bytes_x16(w.type);
  const auto* src = static_cast<const uint8_t*>(w.data);
  KSuper rows[16];
  for (int64_t g = 0; g < w.rows / 16; ++g) {
    for (int64_t sb = 0; sb < nsb; ++sb, dst += super_bytes) {
      for (int r = 0; r < 16; ++r) {
        const uint8_t* row = src + static_cast<size_t>(g * 16 + r) * row_bytes;
        rows[r] = w.type == GgmlType::Q6_K
                      ? read_q6_K(reinterpret_cast<const BlockQ6_K*>(row)[sb])
                      : read_q4_K(reinterpret_cast<const BlockQ4_K*>(row)[sb]);
      }
      pack_k_super_x16(w.type, rows, dst);
    }
  }
}

}  // namespace

void pack_weights_x16(const WeightView& w, uint8_t* dst) {
  if (w.type == GgmlType::Q4_K || w.type == GgmlType::Q6_K) {
    pack_k_quant_x16(w, dst);
    return;
  }
  const int64_t nc = w.cols / 32;
  const size_t row_bytes = ggml_row_size(w.type, w.cols);
  const auto* src = static_cast<const uint8_t*>(w.data);
  const int parts = w.type == GgmlType::Q8_0 ? 8 : 4;
  const size_t block_bytes = packed_block_bytes_x16(w.type);
  const size_t header = has_implied_offset(w.type) ? 32 : 64;
  for (int64_t g = 0; g < w.rows / 16; ++g) {
    for (int64_t c = 0; c < nc; ++c, dst += block_bytes) {
      uint64_t masks[8] = {};  // Q5: bit 4r+i of mask s (s < 4: low nibbles, else high)
      auto* dm = reinterpret_cast<uint16_t*>(dst);
      for (int r = 0; r < 16; ++r) {
        const uint8_t* row = src + static_cast<size_t>(g * 16 + r) * row_bytes;
        const uint8_t* qs;
        uint8_t q8[32];
        if (w.type == GgmlType::Q8_0) {
          const auto* b = reinterpret_cast<const BlockQ8_0*>(row) + c;
          dm[r] = b->d;  // offset -128 d implied
          for (int j = 0; j < 32; ++j) q8[j] = static_cast<uint8_t>(b->qs[j] ^ 0x80);  // + 128
          qs = q8;
        } else if (w.type == GgmlType::Q5_0 || w.type == GgmlType::Q5_1) {
          uint32_t qh;
          if (w.type == GgmlType::Q5_0) {
            // w = d * (u - 16) = d * u + (-16 d); the kernel forms -16 d (exact in f32).
            const auto* b = reinterpret_cast<const BlockQ5_0*>(row) + c;
            dm[r] = b->d;
            std::memcpy(&qh, b->qh, 4);
            qs = b->qs;
          } else {
            const auto* b = reinterpret_cast<const BlockQ5_1*>(row) + c;
            dm[r] = b->d;
            dm[16 + r] = b->m;
            std::memcpy(&qh, b->qh, 4);
            qs = b->qs;
          }
          for (int s = 0; s < 4; ++s) {
            for (int i = 0; i < 4; ++i) {
              const uint64_t bit = uint64_t{1} << (4 * r + i);
              if (qh >> (4 * s + i) & 1u) masks[s] |= bit;
              if (qh >> (16 + 4 * s + i) & 1u) masks[4 + s] |= bit;
            }
          }
        } else if (w.type == GgmlType::Q4_1) {
          const auto* b = reinterpret_cast<const BlockQ4_1*>(row) + c;
          dm[r] = b->d;
          dm[16 + r] = b->m;
          qs = b->qs;
        } else {
          // Q4_0: w = d * (nibble - 8) = d * nibble + (-8 d), -8 d formed by the kernel.
          const auto* b = reinterpret_cast<const BlockQ4_0*>(row) + c;
          dm[r] = b->d;
          qs = b->qs;
        }
        for (int s = 0; s < parts; ++s) std::memcpy(dst + header + 64 * s + 4 * r, qs + 4 * s, 4);
      }
      if (w.type == GgmlType::Q5_0 || w.type == GgmlType::Q5_1)
        std::memcpy(dst + header + 4 * 64, masks, sizeof(masks));
    }
  }
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
