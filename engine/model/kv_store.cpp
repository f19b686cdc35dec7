#include "engine/model/kv_store.h"

#include <cstring>
#include <stdexcept>

namespace toolgate::engine {

KvStore::KvStore(const HParams& hp, int num_blocks, int block_size, KvDtype dtype)
    : num_blocks_(num_blocks),
      block_size_(block_size),
      n_layer_(hp.n_layer),
      kv_dim_(hp.kv_dim()),
      n_head_kv_(hp.n_head_kv),
      dtype_(dtype),
      elem_size_(dtype == KvDtype::F16 ? 2 : 1) {
  if (num_blocks <= 0 || block_size <= 0) throw std::invalid_argument("KV store needs at least one block");
  data_bytes_ = static_cast<size_t>(num_blocks) * n_layer_ * 2 * block_size_ * kv_dim_ * elem_size_;
  data_.reset(new uint8_t[data_bytes_]);
  if (dtype == KvDtype::Int8) {
    params_count_ = static_cast<size_t>(num_blocks) * n_layer_ * 2 * block_size_ * n_head_kv_ * 2;
    params_.reset(new float[params_count_]);
  }
}

size_t KvStore::bytes_per_token() const {
  size_t per_layer = 2 * static_cast<size_t>(kv_dim_) * elem_size_;
  if (dtype_ == KvDtype::Int8) per_layer += 2 * static_cast<size_t>(n_head_kv_) * 2 * sizeof(float);
  return per_layer * n_layer_;
}

int KvStore::blocks_for_budget(const HParams& hp, int block_size, KvDtype dtype, uint64_t budget_bytes) {
  size_t elem = dtype == KvDtype::F16 ? 2 : 1;
  size_t per_token = 2 * static_cast<size_t>(hp.kv_dim()) * elem;
  if (dtype == KvDtype::Int8) per_token += 2 * static_cast<size_t>(hp.n_head_kv) * 2 * sizeof(float);
  per_token *= hp.n_layer;
  return static_cast<int>(budget_bytes / (per_token * block_size));
}

void KvStore::copy_block(int src, int dst) {
  for (int l = 0; l < n_layer_; ++l) {
    for (int kv = 0; kv < 2; ++kv) {
      std::memcpy(rows(dst, l, kv), rows(src, l, kv), static_cast<size_t>(block_size_) * kv_dim_ * elem_size_);
      if (dtype_ == KvDtype::Int8)
        std::memcpy(params(dst, l, kv), params(src, l, kv), static_cast<size_t>(block_size_) * n_head_kv_ * 2 * sizeof(float));
    }
  }
}

}  // namespace toolgate::engine
