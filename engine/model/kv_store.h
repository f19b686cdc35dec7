#pragma once
// The memory behind the paged KV cache: num_blocks blocks, each holding block_size token slots of
// keys and values for every layer. Which block belongs to which sequence is decided elsewhere
// (kv/kv_cache_manager); this class only stores and addresses.
//
// Layout, per block and layer, keys then values: [block][layer][k|v][slot][kv_dim].
// F16 stores IEEE half floats. Int8 stores, per slot and KV head, int8 values with an
// asymmetric scale/zero (LMDeploy quant_policy 8), halving memory per token.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "engine/engine.h"
#include "engine/model/hparams.h"

namespace toolgate::engine {

class KvStore {
 public:
  KvStore(const HParams& hp, int num_blocks, int block_size, KvDtype dtype);

  int num_blocks() const { return num_blocks_; }
  int block_size() const { return block_size_; }
  KvDtype dtype() const { return dtype_; }
  size_t bytes() const { return data_bytes_ + params_count_ * sizeof(float); }
  // Bytes one token occupies across all layers (keys + values, incl. int8 scales).
  size_t bytes_per_token() const;
  // Blocks that fit in a byte budget for this model's shape.
  static int blocks_for_budget(const HParams& hp, int block_size, KvDtype dtype, uint64_t budget_bytes);

  // Start of the key (kv = 0) or value (kv = 1) rows of one block and layer: block_size rows of
  // kv_dim elements (uint16_t for F16, int8_t for Int8).
  void* rows(int block, int layer, int kv) { return data_.get() + offset(block, layer, kv) * elem_size_; }
  // Int8 only: (scale, zero) per slot and KV head: block_size * n_head_kv pairs.
  float* params(int block, int layer, int kv) { return params_.get() + offset_params(block, layer, kv); }

  void copy_block(int src, int dst);

 private:
  size_t offset(int block, int layer, int kv) const {
    return ((static_cast<size_t>(block) * n_layer_ + layer) * 2 + kv) * block_size_ * kv_dim_;
  }
  size_t offset_params(int block, int layer, int kv) const {
    return ((static_cast<size_t>(block) * n_layer_ + layer) * 2 + kv) * block_size_ * n_head_kv_ * 2;
  }

  int num_blocks_, block_size_, n_layer_, kv_dim_, n_head_kv_;
  KvDtype dtype_;
  size_t elem_size_;
  // Default-initialised (not zeroed) on purpose: the OS commits a page only when a block first
  // uses it, so a large KV budget costs neither start-up time nor RAM until it is needed.
  size_t data_bytes_ = 0, params_count_ = 0;
  std::unique_ptr<uint8_t[]> data_;
  std::unique_ptr<float[]> params_;
};

}  // namespace toolgate::engine
