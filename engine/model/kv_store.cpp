#include "engine/model/kv_store.h"

#include <cstring>
#include <stdexcept>
#include <string>

#include "engine/kernels/vec.h"

namespace toolgate::engine {

const char* kv_dtype_name(KvDtype dtype) {
  switch (dtype) {
    case KvDtype::F16: return "f16";
    case KvDtype::Int8: return "int8";
    case KvDtype::Int4: return "int4";
  }
  return "?";
}

std::optional<KvDtype> parse_kv_dtype(std::string_view name) {
  for (KvDtype d : {KvDtype::F16, KvDtype::Int8, KvDtype::Int4})
    if (name == kv_dtype_name(d)) return d;
  return std::nullopt;
}

namespace {

size_t row_bytes_for(KvDtype dtype, int kv_dim) {
  switch (dtype) {
    case KvDtype::F16: return 2 * static_cast<size_t>(kv_dim);
    case KvDtype::Int8: return static_cast<size_t>(kv_dim);
    case KvDtype::Int4: return static_cast<size_t>(kv_dim) / 2;
  }
  return 0;
}

int groups_for(KvDtype dtype, const HParams& hp) {
  switch (dtype) {
    case KvDtype::F16: return 0;
    case KvDtype::Int8: return hp.n_head_kv;
    case KvDtype::Int4: return hp.kv_dim() / kKvInt4Group;
  }
  return 0;
}

// Bytes of one token slot of one layer: keys and values with their group parameters.
size_t slot_bytes(const HParams& hp, KvDtype dtype) {
  return 2 * (row_bytes_for(dtype, hp.kv_dim()) + 2 * sizeof(float) * groups_for(dtype, hp));
}

}  // namespace

KvStore::KvStore(const HParams& hp, int num_blocks, int block_size, KvDtype dtype)
    : num_blocks_(num_blocks),
      block_size_(block_size),
      n_layer_(hp.n_layer),
      kv_dim_(hp.kv_dim()),
      dtype_(dtype),
      row_bytes_(row_bytes_for(dtype, hp.kv_dim())),
      groups_per_row_(groups_for(dtype, hp)) {
  if (num_blocks <= 0 || block_size <= 0) throw std::invalid_argument("KV store needs at least one block");
  if (dtype == KvDtype::Int4 && hp.head_dim % kKvInt4Group != 0)
    throw std::invalid_argument("int4 KV needs a head size that is a multiple of " +
                                std::to_string(kKvInt4Group) + ", the model has " +
                                std::to_string(hp.head_dim));
  data_bytes_ = static_cast<size_t>(num_blocks) * n_layer_ * 2 * block_size_ * row_bytes_;
  data_.reset(new uint8_t[data_bytes_]);
  if (groups_per_row_ > 0) {
    params_count_ = static_cast<size_t>(num_blocks) * n_layer_ * 2 * block_size_ * groups_per_row_ * 2;
    params_.reset(new float[params_count_]);
  }
}

size_t KvStore::bytes_per_token() const {
  return 2 * (row_bytes_ + 2 * sizeof(float) * groups_per_row_) * n_layer_;
}

int KvStore::blocks_for_budget(const HParams& hp, int block_size, KvDtype dtype, uint64_t budget_bytes) {
  return static_cast<int>(budget_bytes / (slot_bytes(hp, dtype) * hp.n_layer * block_size));
}

void KvStore::preallocate() {
  std::memset(data_.get(), 0, data_bytes_);
  if (params_count_ > 0) std::memset(params_.get(), 0, params_count_ * sizeof(float));
}

void KvStore::copy_block(int src, int dst) {
  for (int l = 0; l < n_layer_; ++l) {
    for (int kv = 0; kv < 2; ++kv) {
      std::memcpy(rows(dst, l, kv), rows(src, l, kv), static_cast<size_t>(block_size_) * row_bytes_);
      if (groups_per_row_ > 0)
        std::memcpy(params(dst, l, kv), params(src, l, kv),
                    static_cast<size_t>(block_size_) * groups_per_row_ * 2 * sizeof(float));
    }
  }
}

}  // namespace toolgate::engine
