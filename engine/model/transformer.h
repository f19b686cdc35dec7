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

class Transformer {
 public:
  // Buffers are sized once for at most max_tokens tokens per step and max_logit_rows logit rows.
  Transformer(const HParams& hp, const Weights& w, ThreadPool& pool, int max_tokens, int max_logit_rows,
              int max_context);

  // Runs the step. Logit rows are written to `logits` (n_vocab floats each) in batch order.
  void forward(std::span<const BatchSeq> batch, KvStore& kv, float* logits);

  // Int8 KV only: a vector per layer and KV head subtracted from every key before it is quantized,
  // (n_layer, kv_dim); empty = none. Exact for attention: q.(k - c) = q.k - q.c moves all of a
  // query's scores by the same amount, which softmax ignores. What it buys: int8 steps span only
  // the position-varying part of each key row instead of a large shared per-channel offset
  // (Qwen2.5's early layers, where that offset made int8 KV cost +11% perplexity).
  void set_key_offsets(std::vector<float> offsets);
  // Mean stored key (after RoPE) per layer and channel over `tokens`, from an f16 run in a
  // private KV store: the offsets above. Uses the transformer's buffers; call between steps.
  std::vector<float> mean_keys(std::span<const int32_t> tokens);

  int max_tokens() const { return max_tokens_; }
  int max_logit_rows() const { return max_logit_rows_; }
  const HParams& hparams() const { return hp_; }

 private:
  void attention(int layer, std::span<const BatchSeq> batch, KvStore& kv);
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
  std::vector<float> key_offsets_;  // (n_layer, kv_dim) or empty; int8 KV only
  std::vector<float> key_row_;      // (head_dim) a key row minus its offset, before quantizing
  std::vector<LoraRowRun> lora_runs_;  // this step's rows that run under an adapter
  LoraApplier lora_;
};

}  // namespace toolgate::engine
