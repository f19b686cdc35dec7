#pragma once
// A small model with the target's vocabulary that proposes tokens for speculative decoding
// (Qwen2.5-Coder-0.5B drafting for the 1.5B). It lives inside the target's LocalEngine: same
// engine thread, same compute pool, its own weights, its own paged KV cache (with prefix
// caching, so an agent loop's shared prompt is prefilled by the draft once, as by the target).
//
// Per sequence it remembers the tokens its KV holds. Each propose() first rolls that back to
// the longest common prefix with the target's current tokens (proposals the target rejected
// disappear here), computes the missing positions, then decodes k tokens greedily. Greedy
// drafts make the proposal distribution q a point mass, which keeps the acceptance rule exact
// for sampling too (engine/speculative/verify.h).
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <unordered_map>
#include <vector>

#include "engine/gguf.h"
#include "engine/kernels/thread_pool.h"
#include "engine/kv/kv_cache_manager.h"
#include "engine/model/hparams.h"
#include "engine/model/kv_store.h"
#include "engine/model/transformer.h"
#include "engine/model/weights.h"
#include "engine/tokenizer.h"

namespace toolgate::engine {

struct DraftModelOptions {
  int max_num_seqs = 32;
  int max_tokens_per_step = 512;
  int context_length = 8192;
  int block_size = 16;
  uint64_t kv_budget_bytes = 256ull << 20;
  bool prefix_caching = true;
  bool warm_weights = true;
  bool kv_preallocate = false;  // as EngineOptions::kv_preallocate
};

class DraftModel {
 public:
  // Loads the draft and checks its vocabulary against the target's: same size and the same
  // text for every token id, else std::runtime_error naming both files.
  DraftModel(const std::filesystem::path& path, const Tokenizer& target_tokenizer,
             const std::string& target_name, ThreadPool& pool, const DraftModelOptions& options);

  struct Request {
    SeqId id = 0;
    std::span<const int32_t> tokens;  // the target's tokens (prompt + generated, all kept)
    int k = 0;                        // proposals wanted
    std::vector<int32_t> out;         // filled: up to k greedy tokens
  };
  // Batched over all requests: one forward pass per draft position.
  void propose(std::span<Request> requests);

  // The sequence finished or was cancelled: its draft KV goes back to the pool.
  void release(SeqId id);

  const std::string& name() const { return name_; }
  uint64_t weight_bytes() const { return weight_bytes_; }
  int num_sequences() const { return kv_manager_->num_sequences(); }

 private:
  struct SeqState {
    std::vector<int32_t> tokens;  // tokens[0, num_computed) have K/V in the draft's cache
    int num_computed = 0;
  };

  // Rolls back to what the target kept and makes room; false = out of draft KV (no proposal).
  bool prepare(Request& r, SeqState& s);
  // Runs `rows` (tokens [num_computed, num_computed + n) per sequence), logits for the last.
  void forward(std::span<const SeqId> ids, std::span<const int> counts);
  int32_t argmax(int row) const;

  std::string name_;
  uint64_t weight_bytes_ = 0;
  std::unique_ptr<GgufFile> file_;
  HParams hp_;
  Weights weights_;
  DraftModelOptions options_;
  std::unique_ptr<KvStore> kv_;
  std::unique_ptr<KvCacheManager> kv_manager_;
  std::unique_ptr<Transformer> transformer_;
  std::unordered_map<SeqId, SeqState> seqs_;
  std::vector<float> logits_;  // (max_num_seqs, n_vocab)
  std::vector<BatchSeq> batch_;
};

}  // namespace toolgate::engine
