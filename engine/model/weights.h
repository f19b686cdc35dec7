#pragma once
// Tensor views of a llama/qwen2 checkpoint, pointing into the mapped GGUF (no copies).
#include <cstdint>
#include <memory>
#include <new>
#include <vector>

#include "engine/kernels/matmul.h"
#include "engine/model/hparams.h"

namespace toolgate::engine {

class GgufFile;

struct LayerWeights {
  const float* attn_norm;  // (n_embd)
  WeightView wq;           // (q_dim, n_embd)
  WeightView wk;           // (kv_dim, n_embd)
  WeightView wv;           // (kv_dim, n_embd)
  const float* bq = nullptr;  // (q_dim)   qwen2 only
  const float* bk = nullptr;  // (kv_dim)
  const float* bv = nullptr;  // (kv_dim)
  WeightView wo;           // (n_embd, q_dim)
  const float* ffn_norm;   // (n_embd)
  WeightView w_gate;       // (n_ff, n_embd)
  WeightView w_up;         // (n_ff, n_embd)
  WeightView w_down;       // (n_embd, n_ff)
};

struct Weights {
  WeightView token_embd;     // (n_vocab, n_embd)
  const float* output_norm;  // (n_embd)
  WeightView output;         // (n_vocab, n_embd); the embedding itself when tied
  std::vector<LayerWeights> layers;

  // Load-time repacks (pack_weights_x16) for the active ISA's fastest kernel, all in one
  // anonymous mapping (the views' `packed` point into it). Skipped when TOOLGATE_NO_REPACK is
  // set to a non-empty value other than 0 (A/B measurements).
  // The mapping asks for transparent huge pages (MADV_HUGEPAGE; the usual THP mode "madvise"
  // gives none otherwise): a decode step streams every packed byte once, and with 4 KiB pages
  // that is a TLB miss every 4 KiB of a ~1 GB stream.
  struct PackedArena {
    uint8_t* base = nullptr;
    size_t bytes = 0;
    PackedArena() = default;
    explicit PackedArena(size_t n);
    PackedArena(PackedArena&& o) noexcept : base(o.base), bytes(o.bytes) { o.base = nullptr; o.bytes = 0; }
    PackedArena& operator=(PackedArena&& o) noexcept;
    PackedArena(const PackedArena&) = delete;
    PackedArena& operator=(const PackedArena&) = delete;
    ~PackedArena();
  };
  PackedArena packed_storage;

  // Looks up every tensor and checks its shape and type; throws naming the offending tensor.
  static Weights from_gguf(const GgufFile& file, const HParams& hp);
};

}  // namespace toolgate::engine
