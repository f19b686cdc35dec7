#pragma once
// The memory behind the paged KV cache: num_blocks blocks, each holding block_size token slots of
// keys and values for every layer. Which block belongs to which sequence is decided elsewhere
// (kv/kv_cache_manager); this class only stores and addresses.
//
// Layout, per block and layer, keys then values: [block][layer][k|v][slot][kv_dim].
// F16 stores IEEE half floats. Int8 stores int8 values with an asymmetric scale/zero per slot and
// KV head (LMDeploy quant_policy 8), halving memory per token. Int4 stores two 4-bit values per
// byte with a scale/zero per slot and group of kKvInt4Group values (quant_policy 4; vec.h has the
// byte layout), a quarter of f16 plus the group parameters.
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
  // row_bytes() each (kv_dim uint16_t for F16, kv_dim int8_t for Int8, kv_dim / 2 bytes for Int4).
  void* rows(int block, int layer, int kv) { return data_.get() + offset(block, layer, kv) * row_bytes_; }
  size_t row_bytes() const { return row_bytes_; }
  // Int8 / Int4: (scale, zero) per slot and group (a KV head for Int8, kKvInt4Group values for
  // Int4): block_size * groups_per_row() pairs.
  float* params(int block, int layer, int kv) { return params_.get() + offset_params(block, layer, kv); }
  int groups_per_row() const { return groups_per_row_; }

  void copy_block(int src, int dst);
  // Writes every page once (zeros), so the OS commits the whole store now: RSS is then flat
  // over the server's life instead of growing as blocks are first used.
  void preallocate();

 private:
  size_t offset(int block, int layer, int kv) const {  // in rows
    return ((static_cast<size_t>(block) * n_layer_ + layer) * 2 + kv) * block_size_;
  }
  size_t offset_params(int block, int layer, int kv) const {
    return offset(block, layer, kv) * groups_per_row_ * 2;
  }

  int num_blocks_, block_size_, n_layer_, kv_dim_;
  KvDtype dtype_;
  size_t row_bytes_;
  int groups_per_row_;  // 0 for F16
  // Default-initialised (not zeroed) on purpose: the OS commits a page only when a block first
  // uses it, so a large KV budget costs neither start-up time nor RAM until it is needed
  // (unless preallocate() is called: EngineOptions::kv_preallocate).
  size_t data_bytes_ = 0, params_count_ = 0;
  std::unique_ptr<uint8_t[]> data_;
  std::unique_ptr<float[]> params_;
};

}  // namespace toolgate::engine
