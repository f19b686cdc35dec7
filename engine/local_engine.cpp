#include "engine/local_engine.h"

#include <algorithm>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "engine/model/key_calibration.h"

namespace toolgate::engine {
namespace {

uint64_t available_ram_bytes() {
  std::ifstream f("/proc/meminfo");
  std::string key;
  uint64_t kb = 0;
  std::string unit;
  while (f >> key >> kb >> unit)
    if (key == "MemAvailable:") return kb * 1024;
  return 4ull << 30;
}

}  // namespace

const char* finish_reason_name(FinishReason reason) {
  switch (reason) {
    case FinishReason::Stop: return "stop";
    case FinishReason::Length: return "length";
    case FinishReason::Cancelled: return "cancelled";
    case FinishReason::Error: return "error";
  }
  return "error";
}

std::unique_ptr<Engine> Engine::create(const std::filesystem::path& model_path, const EngineOptions& options) {
  return std::make_unique<LocalEngine>(model_path, options);
}

LocalEngine::LocalEngine(const std::filesystem::path& model_path, const EngineOptions& options)
    : options_(options) {
  file_ = GgufFile::open(model_path);
  hp_ = HParams::from_gguf(*file_);
  const auto& progress = options.on_load_progress;
  if (options.warm_weights) {
    file_->warm([&progress](uint64_t done, uint64_t total) {
      if (progress) progress(LoadProgress{"reading", done, total});
    });
  }
  if (progress) progress(LoadProgress{"preparing", 0, 1});
  weights_ = Weights::from_gguf(*file_, hp_);
  if (progress) progress(LoadProgress{"preparing", 1, 1});
  tokenizer_ = Tokenizer::from_gguf(*file_);
  for (const LoraAdapterOptions& a : options.adapters) {
    if (a.id.empty()) throw std::invalid_argument("a LoRA adapter needs an id");
    if (find_adapter(a.id)) throw std::invalid_argument("LoRA adapter id '" + a.id + "' is used twice");
    adapters_.push_back(std::make_unique<LoraAdapter>(LoraAdapter::load(a.path, hp_, *file_, a.id, a.scale)));
    info_.adapters.push_back({a.id, a.path.string(), a.scale, adapters_.back()->bytes()});
  }

  info_.architecture = hp_.architecture;
  info_.name = file_->get_string("general.name").value_or(model_path.stem().string());
  info_.path = model_path.string();
  info_.chat_template = file_->get_string("tokenizer.chat_template").value_or("");
  info_.license = file_->get_string("general.license").value_or("");
  info_.context_length = options.context_length > 0 ? std::min(options.context_length, hp_.n_ctx_train)
                                                    : std::min(hp_.n_ctx_train, 8192);
  for (const auto& t : file_->tensors()) {
    info_.n_params += t.n_elements();
    info_.weight_bytes += t.nbytes;
  }

  if (options_.block_size <= 0) throw std::invalid_argument("block_size must be positive");
  options_.max_num_seqs = std::max(1, options_.max_num_seqs);
  options_.max_tokens_per_step = std::max(options_.max_tokens_per_step, options_.max_num_seqs);
  const int threads = options.threads > 0 ? options.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  pool_ = std::make_unique<ThreadPool>(threads);

  // KV budget: explicit bytes, or a fraction of available RAM; never more than every sequence
  // could use at full context (a bigger pool would only cost start-up time and RAM).
  uint64_t budget = options.kv_budget_bytes;
  if (budget == 0) budget = static_cast<uint64_t>(static_cast<double>(available_ram_bytes()) * options.kv_budget_fraction);
  int num_blocks = KvStore::blocks_for_budget(hp_, options_.block_size, options_.kv_dtype, budget);
  const int blocks_per_seq = (info_.context_length + options_.block_size - 1) / options_.block_size;
  num_blocks = std::min(num_blocks, blocks_per_seq * options_.max_num_seqs + blocks_per_seq);
  if (num_blocks < 1) throw std::runtime_error("KV cache budget too small for even one block");
  kv_ = std::make_unique<KvStore>(hp_, num_blocks, options_.block_size, options_.kv_dtype);
  if (options_.kv_preallocate) kv_->preallocate();

  if (speculating()) {
    SpeculativeOptions& so = options_.speculative;
    if (so.max_k < 1 || so.max_k > 32) throw std::invalid_argument("speculative max_k must be in 1..32");
    if (so.ngram_min < 1 || so.ngram_max < so.ngram_min)
      throw std::invalid_argument("speculative n-gram sizes need 1 <= ngram_min <= ngram_max");
    // Proposed tokens need logit rows of their own; a few sequences' worth per step is enough
    // (more rows than that would mostly verify guesses of sequences that have better odds plain).
    spec_rows_ = so.max_k * std::min(options_.max_num_seqs, 4);
  }
  // What one more row adds to a decode forward pass, in units of a one-token pass: the 1.5B
  // Qwen at 2 threads computed 9 rows in 4.2x the CPU time of 1 (engine_bench --pp 9 vs tg),
  // i.e. (4.2 - 1) / 8 = 0.4. Decode on a 2-core CPU is close to compute-bound, so verifying
  // guesses is far from free and k must pay for itself (AdaptiveK).
  constexpr double kVerifyRowCost = 0.4;
  transformer_ = std::make_unique<Transformer>(hp_, weights_, *pool_, options_.max_tokens_per_step,
                                               options_.max_num_seqs + spec_rows_, info_.context_length);
  if (options_.kv_dtype != KvDtype::F16) transformer_->set_kv_transform(quantized_kv_transform(*transformer_, *tokenizer_));
  SchedulerConfig sc;
  sc.max_num_seqs = options_.max_num_seqs;
  sc.max_tokens_per_step = options_.max_tokens_per_step;
  sc.max_model_len = info_.context_length;
  sc.block_size = options_.block_size;
  sc.num_blocks = num_blocks;
  sc.prefix_caching = options_.prefix_caching;
  scheduler_ = std::make_unique<Scheduler>(sc);
  logits_.resize(static_cast<size_t>(options_.max_num_seqs + spec_rows_) * hp_.n_vocab);
  if (options_.speculative.mode == SpeculativeOptions::Mode::Draft) {
    if (progress) progress(LoadProgress{"preparing", 0, 1});
    DraftModelOptions d;
    d.max_num_seqs = options_.max_num_seqs;
    d.max_tokens_per_step = options_.max_tokens_per_step;
    d.context_length = info_.context_length;
    d.block_size = options_.block_size;
    d.kv_budget_bytes = budget;
    d.prefix_caching = options_.prefix_caching;
    d.warm_weights = options_.warm_weights;
    d.kv_preallocate = options_.kv_preallocate;
    draft_ = std::make_unique<DraftModel>(options_.speculative.draft_model, *tokenizer_, model_path.string(), *pool_, d);
  }
  if (speculating()) {
    // A draft token costs about one draft decode: the weight-size ratio of draft to target.
    const double propose_cost = draft_ ? static_cast<double>(draft_->weight_bytes()) / static_cast<double>(info_.weight_bytes) : 0.0;
    spec_k_all_ = AdaptiveK(options_.speculative.max_k, kVerifyRowCost, propose_cost);
  }
  stats_.kv_blocks_total = num_blocks;
  stats_.kv_bytes = kv_->bytes();
  thread_ = std::thread([this] { loop(); });
}

LocalEngine::~LocalEngine() { shutdown(); }

const LoraAdapter* LocalEngine::find_adapter(const std::string& id) const {
  for (const auto& a : adapters_)
    if (a->id == id) return a.get();
  return nullptr;
}

Engine::SequenceId LocalEngine::submit(GenerationRequest request) {
  if (request.prompt.empty()) throw EngineError(EngineError::Kind::InvalidRequest, "the prompt is empty");
  for (int32_t t : request.prompt)
    if (t < 0 || t >= hp_.n_vocab)
      throw EngineError(EngineError::Kind::InvalidRequest, "prompt token id " + std::to_string(t) + " is out of range");
  const int prompt_len = static_cast<int>(request.prompt.size());
  if (request.max_tokens < 1) throw EngineError(EngineError::Kind::InvalidRequest, "max_tokens must be at least 1");
  if (!request.adapter.empty() && !find_adapter(request.adapter))
    throw EngineError(EngineError::Kind::InvalidRequest, "unknown LoRA adapter '" + request.adapter + "'");
  if (prompt_len + 1 > info_.context_length)
    throw EngineError(EngineError::Kind::ContextLengthExceeded,
                      "This model's maximum context length is " + std::to_string(info_.context_length) +
                          " tokens. However, your messages resulted in " + std::to_string(prompt_len) + " tokens.");
  // Generation stops at the context limit with finish_reason "length", as OpenAI servers do.
  request.max_tokens = std::min(request.max_tokens, info_.context_length - prompt_len);
  const int blocks_needed = (prompt_len + request.max_tokens + options_.block_size - 1) / options_.block_size;
  if (blocks_needed > kv_->num_blocks())
    throw EngineError(EngineError::Kind::ContextLengthExceeded,
                      "the request needs " + std::to_string(blocks_needed) + " KV blocks but the cache holds only " +
                          std::to_string(kv_->num_blocks()));
  std::lock_guard lock(mu_);
  if (stopping_) throw EngineError(EngineError::Kind::ShuttingDown, "the engine is shutting down");
  if (static_cast<int>(submitted_.size()) + stats_.waiting >= options_.max_waiting)
    throw EngineError(EngineError::Kind::QueueFull, "too many requests are waiting");
  const SequenceId id = next_id_++;
  submitted_.emplace_back(id, std::move(request));
  ++pending_;
  cv_.notify_one();
  return id;
}

void LocalEngine::cancel(SequenceId id) {
  std::lock_guard lock(mu_);
  cancelled_.push_back(id);
  cv_.notify_one();
}

EngineStats LocalEngine::stats() const {
  std::lock_guard lock(mu_);
  EngineStats s = stats_;
  s.waiting += static_cast<int>(submitted_.size());
  return s;
}

void LocalEngine::shutdown() {
  {
    std::lock_guard lock(mu_);
    if (stopping_ && !thread_.joinable()) return;
    stopping_ = true;
    cv_.notify_one();
  }
  if (thread_.joinable()) thread_.join();
}

void LocalEngine::loop() {
  for (;;) {
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !submitted_.empty() || !cancelled_.empty() || !seqs_.empty(); });
      if (stopping_) break;
    }
    take_inbox();
    if (!seqs_.empty()) step();
    publish_stats();
  }
  // Shutting down: everything in flight (and still queued) ends as cancelled.
  take_inbox();
  std::vector<SequenceId> ids;
  for (auto& [id, _] : seqs_) ids.push_back(id);
  for (SequenceId id : ids) finish(id, FinishReason::Cancelled);
}

void LocalEngine::take_inbox() {
  std::deque<std::pair<SequenceId, GenerationRequest>> submitted;
  std::vector<SequenceId> cancelled;
  {
    std::lock_guard lock(mu_);
    submitted.swap(submitted_);
    cancelled.swap(cancelled_);
  }
  for (auto& [id, req] : submitted) {
    Sequence seq;
    seq.max_tokens = req.max_tokens;
    seq.sampler = std::make_unique<Sampler>(req.sampling, hp_.n_vocab);
    seq.stop = std::make_unique<StopMatcher>(req.stop);
    seq.adapter = req.adapter.empty() ? nullptr : find_adapter(req.adapter);
    seq.spec_k = spec_k_all_;
    seq.request = std::move(req);
    try {
      scheduler_->add(id, seq.request.prompt, seq.max_tokens, seq.adapter ? seq.adapter->cache_key : 0);
    } catch (const std::exception& e) {
      seqs_.emplace(id, std::move(seq));
      finish(id, FinishReason::Error, e.what());
      continue;
    }
    seqs_.emplace(id, std::move(seq));
  }
  // Cancelled sequences leave before the next step, so their blocks are free for it.
  for (SequenceId id : cancelled)
    if (seqs_.count(id)) finish(id, FinishReason::Cancelled);
}

void LocalEngine::step() {
  if (speculating()) propose_all();
  SchedulerOutput out = scheduler_->schedule();
  for (auto [src, dst] : out.block_copies) kv_->copy_block(src, dst);
  batch_.clear();
  for (const ScheduledSeq& s : out.seqs) {
    const auto& tokens = scheduler_->tokens(s.id);
    BatchSeq b;
    b.tokens = tokens.data() + s.num_computed;
    b.n = s.num_new;
    b.pos0 = s.num_computed;
    b.block_table = scheduler_->block_table(s.id);
    // A row with proposals needs logits at every proposed position to verify them.
    b.logits = !s.samples ? BatchSeq::Logits::None : s.num_spec > 0 ? BatchSeq::Logits::All : BatchSeq::Logits::Last;
    Sequence& seq = seqs_.at(s.id);
    b.adapter = seq.adapter;
    batch_.push_back(b);
    if (seq.cached_prompt_tokens < 0) seq.cached_prompt_tokens = s.num_computed;
  }
  if (!batch_.empty()) {
    try {
      transformer_->forward(batch_, *kv_, logits_.data());
    } catch (const std::exception& e) {
      // A failed step fails the sequences in it, never the process or the other requests queued.
      scheduler_->on_step_done(out);
      for (const ScheduledSeq& s : out.seqs) finish(s.id, FinishReason::Error, e.what());
      return;
    }
  }
  scheduler_->on_step_done(out);

  uint64_t prompt_tokens = 0, generated_tokens = 0;
  int row = 0;
  for (const ScheduledSeq& s : out.seqs) {
    Sequence& seq = seqs_.at(s.id);
    if (s.num_computed < static_cast<int>(seq.request.prompt.size())) prompt_tokens += s.num_new;
    if (!s.samples) continue;
    if (s.num_spec > 0) {
      verify_proposals(s, row, generated_tokens);
      row += s.num_spec + 1;
      continue;
    }
    std::span<float> logits(logits_.data() + static_cast<size_t>(row++) * hp_.n_vocab, hp_.n_vocab);
    SampledToken tok;
    try {
      tok = sample_token(seq, logits);
    } catch (const std::exception& e) {
      // A processor that throws, or one that banned every token: this sequence fails, the
      // batch goes on.
      finish(s.id, FinishReason::Error, e.what());
      continue;
    }
    seq.generated.push_back(tok.id);
    ++generated_tokens;
    if (!seq.request.ignore_eos && tokenizer_->is_eog(tok.id)) {
      finish(s.id, FinishReason::Stop);
      continue;
    }
    scheduler_->append_token(s.id, tok.id);
    emit_token(s.id, seq, tok);
    if (!seqs_.count(s.id)) continue;  // a stop string ended it
    if (static_cast<int>(seq.generated.size()) >= seq.max_tokens) finish(s.id, FinishReason::Length);
  }

  std::lock_guard lock(mu_);
  stats_.steps++;
  stats_.prompt_tokens_total += prompt_tokens;
  stats_.generation_tokens_total += generated_tokens;
  stats_.spec_proposed_total = spec_proposed_;
  stats_.spec_accepted_total = spec_accepted_;
  stats_.spec_verify_steps = spec_verify_steps_;
}

SampledToken LocalEngine::sample_token(Sequence& seq, std::span<float> logits) {
  LogitsProcessor* proc = seq.request.logits_processor.get();
  if (!proc) return seq.sampler->sample(logits, seq.request.prompt, seq.generated);
  // The sampler works in place, so keep the raw logits for a second draw under the mask.
  saved_logits_.assign(logits.begin(), logits.end());
  SampledToken tok = seq.sampler->sample(logits, seq.request.prompt, seq.generated);
  if (!proc->allows(tok.id)) {
    std::copy(saved_logits_.begin(), saved_logits_.end(), logits.begin());
    proc->mask(logits);
    tok = seq.sampler->sample(logits, seq.request.prompt, seq.generated);
  }
  proc->accept(tok.id);
  return tok;
}

void LocalEngine::publish_stats() {
  auto st = scheduler_->stats();
  std::lock_guard lock(mu_);
  stats_.running = scheduler_->num_running();
  stats_.waiting = scheduler_->num_waiting();
  stats_.kv_blocks_used = st.kv.blocks_used;
  stats_.kv_blocks_cached = st.kv.blocks_cached_free;
  stats_.prefix_cache_queries = st.kv.prefix_query_tokens;
  stats_.prefix_cache_hits = st.kv.prefix_hit_tokens;
  stats_.preemptions = st.num_preemptions;
}

void LocalEngine::emit_token(SequenceId id, Sequence& seq, const SampledToken& s) {
  TokenEvent ev;
  ev.id = s.id;
  ev.logprob = s.logprob;
  if (seq.request.sampling.logprobs)
    for (auto [tid, lp] : s.top) ev.top.push_back({tid, tokenizer_->token_to_piece(tid), lp});
  StopMatcher::Result r = seq.stop->push(seq.utf8.push(tokenizer_->token_to_piece(s.id)));
  ev.text = std::move(r.emit);
  if (seq.request.on_token) seq.request.on_token(std::move(ev));
  if (r.stopped) {
    seq.stop_string_hit = true;
    finish(id, FinishReason::Stop);
  }
}

void LocalEngine::finish(SequenceId id, FinishReason reason, std::string message) {
  auto it = seqs_.find(id);
  if (it == seqs_.end()) return;
  Sequence& seq = it->second;
  // Release text held back for UTF-8 completion or a possible stop string (not after a stop).
  if ((reason == FinishReason::Stop || reason == FinishReason::Length) && !seq.stop_string_hit) {
    std::string tail = seq.stop->push(seq.utf8.flush()).emit + seq.stop->flush();
    if (!tail.empty() && seq.request.on_token) {
      TokenEvent ev{-1, std::move(tail), 0.0f, {}};
      seq.request.on_token(std::move(ev));
    }
  }
  FinishEvent fin;
  fin.reason = reason;
  fin.message = std::move(message);
  fin.prompt_tokens = static_cast<int>(seq.request.prompt.size());
  fin.completion_tokens = static_cast<int>(seq.generated.size());
  fin.cached_prompt_tokens = std::max(0, seq.cached_prompt_tokens);
  auto on_finish = std::move(seq.request.on_finish);
  scheduler_->finish(id);  // frees its blocks now
  if (draft_) draft_->release(id);
  seqs_.erase(it);
  --pending_;
  if (on_finish) on_finish(std::move(fin));
}

}  // namespace toolgate::engine
