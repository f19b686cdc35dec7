#pragma once
// The runtime side of LoRA (S-LoRA / Punica style): the base projection runs once for the whole
// batch, then each run of rows that belongs to a sequence with an adapter gets that adapter's
// low-rank update added: y_t += factor * B (A x_t). Rows without an adapter are never touched,
// so a batch without adapters computes exactly what the base model does.
#include <span>
#include <vector>

#include "engine/kernels/thread_pool.h"
#include "engine/model/lora_adapter.h"

namespace toolgate::engine {

// Consecutive rows [first, first + n) of a step's activations that run under `adapter`.
struct LoraRowRun {
  const LoraAdapter* adapter;
  int first;
  int n;
};

// One projection of a layer: its inputs x (row stride ldx) and the outputs y (row stride ldy)
// the base matmul already wrote.
struct LoraProjection {
  LoraTarget target;
  const float* x;
  int ldx;
  float* y;
  int ldy;
};

class LoraApplier {
 public:
  // Sized for a pool of `threads` and adapters up to `max_rank` (grows if needed).
  explicit LoraApplier(int threads) : threads_(threads) {}

  // Adds every run's update for each projection of `layer`; one pool run for all of them.
  void apply(std::span<const LoraRowRun> runs, int layer, std::span<const LoraProjection> projections,
             ThreadPool& pool);

 private:
  int threads_;
  std::vector<int> row_run_;      // per adapted row: index of its run
  std::vector<int> row_index_;    // per adapted row: the row
  std::vector<float> scratch_;    // (threads, max rank): A x for one row
  int max_rank_ = 0;
};

// y (1 row of n_out) += m.factor * B (A x); tmp holds m.rank floats. The reference the tests
// compare against merged weights, and the inner step of LoraApplier.
void lora_add_row(const LoraMatrix& m, const float* x, float* y, float* tmp);

}  // namespace toolgate::engine
