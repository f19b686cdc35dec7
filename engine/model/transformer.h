#pragma once
// One forward pass of a llama/qwen2 decoder over a batch of sequences whose keys and values live
// in the paged KvStore. Reads top to bottom like the paper: embed → [norm → attention → residual
// → norm → SwiGLU MLP → residual] × layers → norm → logits.
#include <cstdint>
#include <span>
#include <vector>

#include "engine/kernels/matmul.h"
#include "engine/kernels/thread_pool.h"
#include "engine/model/hparams.h"
#include "engine/model/kv_store.h"
#include "engine/model/lora_apply.h"
#include "engine/model/weights.h"

namespace toolgate::engine {

// The tokens one sequence contributes to a step: positions [pos0, pos0 + n) of the sequence,
// whose KV slots are addressed through block_table (which must already cover them).
struct BatchSeq {
  const int32_t* tokens;  // n token ids
  int n;
  int pos0;
  std::span<const int> block_table;
  // Which rows get logits: none, the last token only (sampling), or all n (perplexity).
  enum class Logits { None, Last, All } logits = Logits::Last;
  // LoRA adapter applied to this sequence's projections; nullptr = the base model, bit for bit.
  const LoraAdapter* adapter = nullptr;
};

// Wall time of a step's phases summed over forward() calls while attached (set_profile): where a
// decode step's time goes, matmuls by projection vs the serial parts between them.
struct StepProfile {
  enum Phase { Embed, AttnNorm, Qkv, RopeBias, KvStore, Attention, Wo, FfnNorm, GateUp, SiluMul, Down,
               Residual, Output, kPhases };
  static constexpr const char* kNames[kPhases] = {"embed",  "attn_norm", "qkv",     "rope_bias", "kv_store",
                                                  "attention", "wo",     "ffn_norm", "gate_up",  "silu_mul",
                                                  "down",   "residual",  "output"};
  double seconds[kPhases] = {};
  int64_t steps = 0;
};

class Transformer {
 public:
  // Buffers are sized once for at most max_tokens tokens per step and max_logit_rows logit rows.
  Transformer(const HParams& hp, const Weights& w, ThreadPool& pool, int max_tokens, int max_logit_rows,
              int max_context);

  // Runs the step. Logit rows are written to `logits` (n_vocab floats each) in batch order.
  void forward(std::span<const BatchSeq> batch, KvStore& kv, float* logits);

  // Quantized KV (int8, int4) only: how keys and values are transformed before they are stored,
  // per layer and KV channel, (n_layer, kv_dim) each; empty = stored as computed. Both are exact
  // for attention:
  //  - keys are stored as (k - offset) / scale and each query is multiplied by scale first:
  //    (q * scale) . (k - offset) / scale = q.k - q.offset moves all of a query's scores by the
  //    same amount, which softmax ignores;
  //  - values are stored as v / scale and the attention output is multiplied by scale.
  // What it buys: quantization steps span only the position-varying part of each row and every
  // channel gets the same share of the levels, instead of a large shared per-channel offset
  // (Qwen2.5's early layers) or a few loud channels setting the step for all the others.
  struct KvTransform {
    std::vector<float> key_offset, key_scale, value_scale;
  };
  void set_kv_transform(KvTransform t);
  // Statistics of the stored keys (after RoPE) and values per layer and channel over `tokens`,
  // from an f16 run in a private KV store: key mean, key and value RMS around their means. Uses
  // the transformer's buffers; call between steps.
  struct KvStats {
    std::vector<float> key_mean, key_rms, value_rms;
  };
  KvStats kv_stats(std::span<const int32_t> tokens);

  // Attaches (nullptr: detaches) a profile that every later forward() adds its phase times to.
  // Off by default: then each phase boundary costs one branch.
  void set_profile(StepProfile* p) { profile_ = p; }

  int max_tokens() const { return max_tokens_; }
  int max_logit_rows() const { return max_logit_rows_; }
  const HParams& hparams() const { return hp_; }

 private:
  void attention(int layer, std::span<const BatchSeq> batch, KvStore& kv);
  // fn(t, thread) for every token of the step: across the pool for prefill-sized steps, inline
  // below that (a fork-join costs more than normalizing a handful of rows).
  template <class Fn>
  void per_token(int T, Fn&& fn) {
    if (T >= kParallelTokens) {
      pool_.run(T, fn);
    } else {
      for (int t = 0; t < T; ++t) fn(t, 0);
    }
  }
  static constexpr int kParallelTokens = 8;
  void store_kv(int layer, std::span<const BatchSeq> batch, KvStore& kv);

  const HParams& hp_;
  const Weights& w_;
  ThreadPool& pool_;
  int max_tokens_, max_logit_rows_, max_context_;
  MatmulScratch scratch_;

  // Per-step activations, sized once (hot loops allocate nothing).
  std::vector<float> x_;        // (max_tokens, n_embd) residual stream
  std::vector<float> xb_;       // (max_tokens, n_embd) normed input
  std::vector<float> q_;        // (max_tokens, q_dim)
  std::vector<float> k_;        // (max_tokens, kv_dim)
  std::vector<float> v_;        // (max_tokens, kv_dim)
  std::vector<float> att_;      // (max_tokens, q_dim) attention output
  std::vector<float> gate_;     // (max_tokens, n_ff)
  std::vector<float> up_;       // (max_tokens, n_ff)
  std::vector<float> rope_cos_; // (max_tokens, rope_dim / 2)
  std::vector<float> rope_sin_; // (max_tokens, rope_dim / 2)
  std::vector<float> scores_;   // (threads, max_context) attention scores per worker
  std::vector<float> inv_freq_; // (rope_dim / 2)
  // Flattened view of the batch: for each token, its sequence and position.
  std::vector<int> tok_seq_, tok_pos_;
  std::vector<int32_t> tok_ids_;
  std::vector<int> logit_rows_;  // token indices whose logits are produced
  std::vector<float> xl_;        // (max_logit_rows, n_embd)
  KvTransform kv_transform_;        // quantized KV only
  std::vector<float> kv_inv_scale_[2];  // 1 / key_scale, 1 / value_scale
  std::vector<float> kv_row_;       // (threads, head_dim) a key or value row after the transform
  std::vector<float> q_scaled_;     // (threads, head_dim) a query times the key scales
  std::vector<LoraRowRun> lora_runs_;  // this step's rows that run under an adapter
  LoraApplier lora_;
  StepProfile* profile_ = nullptr;
};

}  // namespace toolgate::engine
