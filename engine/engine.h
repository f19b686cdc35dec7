#pragma once
// The engine's one interface to the rest of Toolgate: submit a generation, receive token and
// finish events through callbacks, cancel, read stats. Nothing here exposes kernels, blocks or
// tensors. Callbacks run on the engine's own thread and must be cheap (post to a strand/queue).
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace toolgate::engine {

class Tokenizer;

// KV cache element type: IEEE half, or asymmetric 8-bit (scale/zero per slot and head) or 4-bit
// (scale/zero per 32 values) integers with the keys centred first (see Transformer).
enum class KvDtype { F16, Int8, Int4 };
const char* kv_dtype_name(KvDtype dtype);  // "f16", "int8", "int4"
std::optional<KvDtype> parse_kv_dtype(std::string_view name);  // the inverse; nullopt if unknown

// Where a model load is, for progress displays: stage "reading" (weights read into memory,
// bytes), then "preparing" (weights repacked for the kernels, tensors).
struct LoadProgress {
  std::string_view stage;
  uint64_t done = 0;
  uint64_t total = 0;
};

// A LoRA adapter to load beside the base model (llama.cpp's GGUF LoRA format). Requests pick
// it by id (GenerationRequest::adapter); the base weights are shared by all adapters.
struct LoraAdapterOptions {
  std::string id;
  std::filesystem::path path;
  float scale = 1.0f;  // multiplies alpha / rank
};

// Speculative decoding (engine/speculative/): tokens are guessed cheaply, then the model checks
// a whole guess in one forward pass and keeps the longest prefix it agrees with. Output tokens
// are those of plain decoding (greedy) or have the same distribution (sampling).
struct SpeculativeOptions {
  enum class Mode { Off, Ngram, Draft };
  Mode mode = Mode::Off;
  int max_k = 8;      // proposed tokens per sequence and step at most (adaptive below that)
  int ngram_max = 4;  // prompt lookup: longest suffix n-gram searched for in the context ...
  int ngram_min = 2;  // ... and shortest
  std::filesystem::path draft_model;  // Draft: a GGUF with the same vocabulary
};

struct EngineOptions {
  int threads = 0;                  // compute threads; 0 = all cores
  uint64_t kv_budget_bytes = 0;     // KV cache budget; 0 = use kv_budget_fraction
  double kv_budget_fraction = 0.1;  // of currently available RAM, when kv_budget_bytes == 0
  int block_size = 16;              // tokens per KV block
  KvDtype kv_dtype = KvDtype::F16;
  int max_num_seqs = 32;            // sequences running at once
  int max_tokens_per_step = 512;    // token budget of one forward pass (prefill chunks + decodes)
  int max_waiting = 256;            // queued requests beyond which submit() refuses
  bool prefix_caching = true;
  // Touch every KV page at start-up: the whole budget is resident (and known to fit) from the
  // first request, instead of growing as the prefix cache fills it (see KvStore::preallocate).
  bool kv_preallocate = false;
  int context_length = 0;           // 0 = the model's own, capped at 8192
  bool warm_weights = true;         // read every weight page at load, not on the first request
  std::function<void(const LoadProgress&)> on_load_progress;  // called on the loading thread
  // Loaded and validated against the model at start-up; a bad adapter fails create() with an
  // error naming the file and the tensor.
  std::vector<LoraAdapterOptions> adapters;
  SpeculativeOptions speculative;
};

struct SamplingParams {
  float temperature = 1.0f;  // 0 = greedy
  int top_k = 0;             // 0 = off
  float top_p = 1.0f;
  float min_p = 0.0f;
  float repetition_penalty = 1.0f;  // multiplicative, llama.cpp/HF style; 1 = off
  float presence_penalty = 0.0f;    // OpenAI style
  float frequency_penalty = 0.0f;   // OpenAI style
  std::vector<std::pair<int32_t, float>> logit_bias;
  std::optional<uint64_t> seed;
  bool logprobs = false;
  int top_logprobs = 0;  // alternatives per token, 0..20
};

// Lets a caller constrain decoding (tool calls, engine/constrained/). Per generated token the
// engine samples from the unconstrained logits and asks allows() about that one token; only if
// it is refused does it call mask() on the same logits and sample again (llama.cpp's order: a
// check of one token is far cheaper than a mask over the vocabulary, and for plain categorical
// sampling the result has the same distribution as masking first). accept() then reports the
// token that joins the sequence. A processor belongs to one sequence; the engine thread calls
// it, one sequence after another within a step.
class LogitsProcessor {
 public:
  virtual ~LogitsProcessor() = default;
  // May `token` come next?
  virtual bool allows(int32_t token) = 0;
  // Sets the logit of every token that may not come next to -infinity.
  virtual void mask(std::span<float> logits) = 0;
  // `token` was sampled (also an end-of-generation token) and is part of the sequence now.
  virtual void accept(int32_t token) = 0;
};

struct TokenLogprob {
  int32_t id;
  std::string text;  // raw bytes of the token (may be part of a UTF-8 character)
  float logprob;
};

struct TokenEvent {
  int32_t id;
  std::string text;  // UTF-8-complete text released by this token (may be empty: held back)
  float logprob = 0.0f;
  std::vector<TokenLogprob> top;  // when SamplingParams::logprobs
};

enum class FinishReason { Stop, Length, Cancelled, Error };
const char* finish_reason_name(FinishReason reason);  // "stop", "length", "cancelled", "error"

struct FinishEvent {
  FinishReason reason = FinishReason::Stop;
  std::string message;  // for Error
  int prompt_tokens = 0;
  int completion_tokens = 0;
  int cached_prompt_tokens = 0;  // served from the prefix cache
};

struct GenerationRequest {
  std::vector<int32_t> prompt;
  SamplingParams sampling;
  int max_tokens = 256;           // generated tokens at most (also capped by the context)
  std::vector<std::string> stop;  // stop strings: never emitted, even when they span tokens
  bool ignore_eos = false;
  std::shared_ptr<LogitsProcessor> logits_processor;
  std::string adapter;  // id of a loaded LoRA adapter; empty = the base model
  std::function<void(TokenEvent&&)> on_token;
  std::function<void(FinishEvent&&)> on_finish;  // called exactly once
};

// Reasons submit() refuses a request; the gateway maps them to HTTP statuses.
class EngineError : public std::runtime_error {
 public:
  enum class Kind { InvalidRequest, ContextLengthExceeded, QueueFull, ShuttingDown };
  EngineError(Kind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
  Kind kind() const { return kind_; }

 private:
  Kind kind_;
};

struct ModelInfo {
  std::string architecture;   // "llama", "qwen2"
  std::string name;           // general.name
  std::string path;
  std::string chat_template;  // tokenizer.chat_template ("" if absent)
  std::string license;
  int context_length = 0;     // effective (after EngineOptions::context_length)
  int64_t n_params = 0;
  uint64_t weight_bytes = 0;
  struct Adapter {
    std::string id;
    std::string path;
    float scale = 1.0f;
    uint64_t bytes = 0;  // memory its matrices take
  };
  std::vector<Adapter> adapters;  // loaded LoRA adapters, in EngineOptions order
};

struct EngineStats {
  int running = 0;
  int waiting = 0;
  int kv_blocks_total = 0;
  int kv_blocks_used = 0;
  int kv_blocks_cached = 0;  // free but holding a reusable prefix
  uint64_t kv_bytes = 0;
  uint64_t prefix_cache_queries = 0;  // prompt tokens looked up
  uint64_t prefix_cache_hits = 0;     // prompt tokens served from cache
  uint64_t preemptions = 0;
  uint64_t steps = 0;
  uint64_t prompt_tokens_total = 0;
  uint64_t generation_tokens_total = 0;
  // Speculative decoding: proposed tokens that the model verified, and of those it accepted.
  uint64_t spec_proposed_total = 0;
  uint64_t spec_accepted_total = 0;
  uint64_t spec_verify_steps = 0;  // sequence rows that carried proposals
};

class Engine {
 public:
  using SequenceId = uint64_t;
  virtual ~Engine() = default;
  // Loads the model and starts the engine thread. Throws std::runtime_error on failure.
  static std::unique_ptr<Engine> create(const std::filesystem::path& model_path,
                                        const EngineOptions& options);

  // Queues a generation; throws EngineError if it can never run or the queue is full.
  virtual SequenceId submit(GenerationRequest request) = 0;
  // Cancels a sequence: its blocks are freed before the next step; on_finish(Cancelled) follows.
  virtual void cancel(SequenceId id) = 0;
  virtual EngineStats stats() const = 0;
  virtual const ModelInfo& model() const = 0;
  virtual const Tokenizer& tokenizer() const = 0;
  // Cancels everything in flight and stops the engine thread.
  virtual void shutdown() = 0;
};

}  // namespace toolgate::engine
