#include "engine/model/lora_apply.h"

#include <algorithm>

#include "engine/kernels/vec.h"

namespace toolgate::engine {

void lora_add_row(const LoraMatrix& m, const float* x, float* y, float* tmp) {
  const int n_in = static_cast<int>(m.n_in), n_out = static_cast<int>(m.n_out);
  for (int i = 0; i < m.rank; ++i) tmp[i] = m.factor * dot_f32(&m.a[size_t(i) * n_in], x, n_in);
  for (int i = 0; i < m.rank; ++i) axpy_f32(tmp[i], &m.b_t[size_t(i) * n_out], y, n_out);
}

void LoraApplier::apply(std::span<const LoraRowRun> runs, int layer, std::span<const LoraProjection> projections,
                        ThreadPool& pool) {
  if (runs.empty()) return;
  row_run_.clear();
  row_index_.clear();
  int max_rank = 0;
  for (size_t r = 0; r < runs.size(); ++r) {
    bool any = false;
    for (const LoraProjection& p : projections)
      if (const LoraMatrix* m = runs[r].adapter->matrix(layer, p.target)) {
        any = true;
        max_rank = std::max(max_rank, m->rank);
      }
    if (!any) continue;
    for (int j = 0; j < runs[r].n; ++j) {
      row_run_.push_back(static_cast<int>(r));
      row_index_.push_back(runs[r].first + j);
    }
  }
  if (row_index_.empty()) return;
  if (max_rank > max_rank_) {
    max_rank_ = max_rank;
    scratch_.assign(static_cast<size_t>(std::max(threads_, pool.size())) * max_rank_, 0.0f);
  }
  // One task per (row, projection): each writes its own output row only.
  const int P = static_cast<int>(projections.size());
  pool.run(static_cast<int>(row_index_.size()) * P, [&](int task, int thread) {
    const int k = task / P;
    const LoraProjection& p = projections[task % P];
    const LoraMatrix* m = runs[row_run_[k]].adapter->matrix(layer, p.target);
    if (!m) return;
    const int t = row_index_[k];
    lora_add_row(*m, p.x + size_t(t) * p.ldx, p.y + size_t(t) * p.ldy, &scratch_[size_t(thread) * max_rank_]);
  });
}

}  // namespace toolgate::engine
