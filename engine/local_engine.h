#pragma once
// The in-process engine: one model, one engine thread that runs the continuous-batching loop
// (schedule → forward → sample → emit), a compute thread pool, a paged KV cache.
#include <atomic>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include "engine/engine.h"
#include "engine/gguf.h"
#include "engine/kernels/thread_pool.h"
#include "engine/model/hparams.h"
#include "engine/model/kv_store.h"
#include "engine/model/lora_adapter.h"
#include "engine/model/transformer.h"
#include "engine/model/weights.h"
#include "engine/sampler.h"
#include "engine/scheduler/scheduler.h"
#include "engine/speculative/adaptive_k.h"
#include "engine/speculative/draft_model.h"
#include "engine/stop_matcher.h"
#include "engine/tokenizer.h"

namespace toolgate::engine {

class LocalEngine final : public Engine {
 public:
  LocalEngine(const std::filesystem::path& model_path, const EngineOptions& options);
  ~LocalEngine() override;

  SequenceId submit(GenerationRequest request) override;
  void cancel(SequenceId id) override;
  EngineStats stats() const override;
  const ModelInfo& model() const override { return info_; }
  const Tokenizer& tokenizer() const override { return *tokenizer_; }
  void shutdown() override;

 private:
  // What the engine thread keeps per running request, beside the scheduler's token lists.
  struct Sequence {
    GenerationRequest request;
    std::unique_ptr<Sampler> sampler;
    const LoraAdapter* adapter = nullptr;  // nullptr = base
    std::unique_ptr<StopMatcher> stop;
    Utf8StreamDecoder utf8;
    std::vector<int32_t> generated;
    int max_tokens = 0;
    int cached_prompt_tokens = -1;  // known after the first scheduled step
    bool stop_string_hit = false;   // text after a stop string is dropped, never flushed
    AdaptiveK spec_k;               // proposals per step (speculative decoding)
  };

  void loop();
  void take_inbox();
  void step();
  // Speculative decoding (local_engine_speculative.cpp): offers proposals to the scheduler for
  // every sequence about to decode, and after the forward pass keeps the verified prefix.
  bool speculating() const { return options_.speculative.mode != SpeculativeOptions::Mode::Off; }
  void propose_all();
  void verify_proposals(const ScheduledSeq& s, int row0, uint64_t& generated_tokens);
  void publish_stats();  // copies scheduler/KV figures into stats_ for other threads
  void emit_token(SequenceId id, Sequence& seq, const SampledToken& s);
  // Samples one token, under the sequence's LogitsProcessor if it has one (engine.h).
  SampledToken sample_token(Sequence& seq, std::span<float> logits);
  void finish(SequenceId id, FinishReason reason, std::string message = {});

  ModelInfo info_;
  EngineOptions options_;
  std::unique_ptr<GgufFile> file_;
  HParams hp_;
  Weights weights_;
  std::vector<std::unique_ptr<LoraAdapter>> adapters_;  // immutable after construction
  const LoraAdapter* find_adapter(const std::string& id) const;
  std::unique_ptr<Tokenizer> tokenizer_;
  std::unique_ptr<ThreadPool> pool_;
  std::unique_ptr<KvStore> kv_;
  std::unique_ptr<Transformer> transformer_;
  std::unique_ptr<Scheduler> scheduler_;
  std::vector<float> logits_;  // (max_num_seqs + spec_rows_, n_vocab)
  int spec_rows_ = 0;          // logit rows a step may spend on proposed tokens, over all seqs
  std::unique_ptr<DraftModel> draft_;  // SpeculativeOptions::Mode::Draft only
  uint64_t spec_proposed_ = 0, spec_accepted_ = 0, spec_verify_steps_ = 0;  // engine thread
  AdaptiveK spec_k_all_;  // acceptance over all sequences: the starting estimate of new ones
  std::vector<float> saved_logits_;  // (n_vocab) raw logits of the row a processor may mask

  // Owned by the engine thread.
  std::unordered_map<SequenceId, Sequence> seqs_;
  std::vector<BatchSeq> batch_;

  // Inbox shared with callers.
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::pair<SequenceId, GenerationRequest>> submitted_;
  std::vector<SequenceId> cancelled_;
  bool stopping_ = false;
  std::atomic<uint64_t> next_id_{1};
  std::atomic<int> pending_{0};  // submitted, not yet finished
  EngineStats stats_;            // guarded by mu_, refreshed by the engine thread each step
  std::thread thread_;
};

}  // namespace toolgate::engine
