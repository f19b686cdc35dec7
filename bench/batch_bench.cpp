// batch_bench [--model M.gguf] [--threads N] [--concurrency 1,4,16,32] [--gen N]
//             [--prefix-tokens N] [--prefix-requests N] [--text FILE] [--kv-int8 0|1]
// Engine-level evidence for continuous batching, prefix caching and the int8 KV option (no HTTP).
// Prints JSON lines on stdout:
//   {"bench":"throughput", ...}  aggregate and per-sequence generation tokens/s at each
//                                concurrency (distinct short ChatML prompts, greedy, ignore_eos),
//                                with the ratio to one sequence; once with f16 KV, once with int8.
//   {"bench":"prefix_ttft", ...} N requests sharing a long system prompt submitted together:
//                                TTFT p50/p90/max and prompt tokens actually computed, with and
//                                without prefix caching.
//   {"bench":"prefix_single", ...} one request cold, then one with the same prefix warm.
//   {"bench":"kv_bytes", ...}    KV bytes per token, f16 vs int8.
// Every figure comes with the 1-minute load average read just before the run: on a shared
// machine a figure without it cannot be compared with anything.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

#include "bench_stats.h"
#include "engine/engine.h"
#include "engine/gguf.h"
#include "engine/model/hparams.h"
#include "engine/model/kv_store.h"
#include "engine/tokenizer.h"

using namespace toolgate::engine;
using Clock = std::chrono::steady_clock;
using toolgate::bench::load_average;

namespace {

struct Args {
  std::string model = "models/SmolLM2-135M-Instruct-Q4_1.gguf";
  std::string text = "tests/data/declaration.txt";
  int threads = 2;
  std::vector<int> concurrency = {1, 4, 16, 32};
  int gen = 64;
  int prefix_tokens = 1024;
  int prefix_requests = 16;
  bool int8 = true;  // also run the throughput sweep with int8 KV
};

std::vector<int> parse_list(const char* s) {
  std::vector<int> v;
  std::stringstream ss(s);
  std::string x;
  while (std::getline(ss, x, ',')) v.push_back(std::stoi(x));
  return v;
}

double seconds_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  // Nearest rank: the smallest value with at least p of the samples at or below it.
  size_t rank = static_cast<size_t>(std::ceil(p * static_cast<double>(v.size())));
  return v[std::clamp<size_t>(rank, 1, v.size()) - 1];
}

std::vector<int32_t> chatml(const Tokenizer& tok, const std::string& user) {
  return tok.encode("<|im_start|>user\n" + user + "<|im_end|>\n<|im_start|>assistant\n", false,
                    true);
}

// One submitted request's timeline, filled in from callbacks on the engine thread.
struct Trace {
  Clock::time_point submitted, first_token, finished;
  int tokens = 0;
  FinishEvent finish;
};

// Submits every prompt at once and waits for all to finish. Callbacks run on the engine thread;
// the mutex only guards the hand-off to this thread.
class Batch {
 public:
  Batch(Engine& e, const std::vector<std::vector<int32_t>>& prompts, int gen)
      : traces_(prompts.size()) {
    for (size_t i = 0; i < prompts.size(); ++i) {
      GenerationRequest r;
      r.prompt = prompts[i];
      r.sampling.temperature = 0;
      r.max_tokens = gen;
      r.ignore_eos = true;
      r.on_token = [this, i](TokenEvent&& ev) {
        if (ev.id < 0) return;  // released tail text, not a token
        Trace& t = traces_[i];
        if (t.tokens++ == 0) {
          t.first_token = Clock::now();
          // The moment the last sequence starts decoding, every sequence is in the decode phase.
          if (++started_ == static_cast<int>(traces_.size())) {
            all_started_ = t.first_token;
            tokens_at_all_started_ = tokens_total_ + 1;
          }
        }
        ++tokens_total_;
      };
      r.on_finish = [this, i](FinishEvent&& f) {
        traces_[i].finished = Clock::now();
        traces_[i].finish = f;
        std::lock_guard lock(mu_);
        if (++done_ == static_cast<int>(traces_.size())) cv_.notify_one();
      };
      traces_[i].submitted = Clock::now();
      e.submit(std::move(r));
    }
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return done_ == static_cast<int>(traces_.size()); });
  }
  const std::vector<Trace>& traces() const { return traces_; }
  Clock::time_point all_started() const { return all_started_; }
  long tokens_at_all_started() const { return tokens_at_all_started_; }

 private:
  std::vector<Trace> traces_;
  int started_ = 0;
  long tokens_total_ = 0, tokens_at_all_started_ = 0;
  Clock::time_point all_started_;
  std::mutex mu_;
  std::condition_variable cv_;
  int done_ = 0;
};

EngineOptions engine_options(const Args& a, KvDtype kv, bool prefix_caching, int max_seqs) {
  EngineOptions o;
  o.threads = a.threads;
  o.kv_dtype = kv;
  o.prefix_caching = prefix_caching;
  o.max_num_seqs = max_seqs;
  o.context_length = 2048;
  // Room for every sequence of the largest scenario without preemption (preemption would turn
  // a batching figure into a memory-pressure figure).
  o.kv_budget_bytes = 1ull << 30;
  return o;
}

const char* kv_name(KvDtype d) { return kv_dtype_name(d); }

// Aggregate generation tokens/s at each concurrency. "decode_tps" counts only tokens generated
// after the last sequence got its first token (all sequences decoding together); "e2e_tps" is
// every generated token over the wall time from submit to last finish (includes prefill).
void throughput(const Args& a, KvDtype kv) {
  const int max_c = *std::max_element(a.concurrency.begin(), a.concurrency.end());
  auto engine = Engine::create(a.model, engine_options(a, kv, /*prefix_caching=*/false, max_c));
  const Tokenizer& tok = engine->tokenizer();
  static const char* topics[] = {
      "dragons",  "the sea",     "a lighthouse", "bread",    "winter",     "a robot",
      "the moon", "a river",     "chess",        "a garden", "trains",     "volcanoes",
      "owls",     "a library",   "the desert",   "a violin", "bees",       "a castle",
      "rain",     "mountains",   "a clock",      "foxes",    "the circus", "glaciers",
      "a market", "kites",       "a forest",     "comets",   "a bridge",   "tea",
      "whales",   "a small town"};
  // Warm-up: page the weights in so the first measured configuration is not charged for it.
  {
    Batch warm(*engine, {chatml(tok, "Hello.")}, 4);
  }
  double base_decode = 0, base_e2e = 0;
  for (int c : a.concurrency) {
    std::vector<std::vector<int32_t>> prompts;
    for (int i = 0; i < c; ++i)
      prompts.push_back(chatml(tok, std::string("Write a short story about ") + topics[i % 32] +
                                        " (story " + std::to_string(i) + ")."));
    const double load = load_average();
    const auto steps0 = engine->stats().steps;
    const auto t0 = Clock::now();
    Batch b(*engine, prompts, a.gen);
    Clock::time_point end = t0;
    double per_seq_sum = 0;
    long total = 0;
    for (const Trace& t : b.traces()) {
      end = std::max(end, t.finished);
      total += t.finish.completion_tokens;
      per_seq_sum += (t.finish.completion_tokens - 1) / seconds_between(t.first_token, t.finished);
    }
    const double decode_s = seconds_between(b.all_started(), end);
    const double decode_tps = decode_s > 0 ? (total - b.tokens_at_all_started()) / decode_s : 0;
    const double e2e_tps = total / seconds_between(t0, end);
    if (base_decode == 0) base_decode = decode_tps, base_e2e = e2e_tps;
    std::printf(
        "{\"bench\": \"throughput\", \"kv\": \"%s\", \"threads\": %d, \"concurrency\": %d, "
        "\"gen\": %d, "
        "\"decode_tps\": %.1f, \"e2e_tps\": %.1f, \"per_seq_tps\": %.1f, "
        "\"decode_ratio_vs_first\": %.2f, "
        "\"e2e_ratio_vs_first\": %.2f, \"steps\": %llu, \"preemptions\": %llu, \"seconds\": %.2f, "
        "\"load1\": %.2f}\n",
        kv_name(kv), a.threads, c, a.gen, decode_tps, e2e_tps, per_seq_sum / c,
        decode_tps / base_decode, e2e_tps / base_e2e,
        static_cast<unsigned long long>(engine->stats().steps - steps0),
        static_cast<unsigned long long>(engine->stats().preemptions), seconds_between(t0, end),
        load);
    std::fflush(stdout);
  }
}

// The shared system prompt: the first n tokens of the text repeated, inside a ChatML system turn.
std::vector<int32_t> system_prefix(const Tokenizer& tok, const std::string& text, int n) {
  std::vector<int32_t> body, doc = tok.encode(text, false, false);
  if (doc.empty()) throw std::runtime_error("prefix text is empty");
  while (static_cast<int>(body.size()) < n) body.insert(body.end(), doc.begin(), doc.end());
  body.resize(n);
  std::vector<int32_t> out = tok.encode("<|im_start|>system\n", false, true);
  out.insert(out.end(), body.begin(), body.end());
  return out;
}

std::vector<int32_t> with_question(const Tokenizer& tok, const std::vector<int32_t>& prefix,
                                   const std::string& q) {
  std::vector<int32_t> p = prefix;
  std::vector<int32_t> tail = tok.encode(
      "<|im_end|>\n<|im_start|>user\n" + q + "<|im_end|>\n<|im_start|>assistant\n", false, true);
  p.insert(p.end(), tail.begin(), tail.end());
  return p;
}

const std::vector<std::string>& questions() {
  static const std::vector<std::string> q = {"Who wrote this?",
                                             "Summarize it in one line.",
                                             "What year is it from?",
                                             "Name one grievance.",
                                             "What is the tone?",
                                             "Who is it addressed to?",
                                             "What rights are named?",
                                             "Is it a letter?",
                                             "What does it declare?",
                                             "Give it a title.",
                                             "What is its purpose?",
                                             "Who signed it?",
                                             "Is it long?",
                                             "What is the first word?",
                                             "Translate the first line to French.",
                                             "Any king named?"};
  return q;
}

void prefix_ttft(const Args& a, const std::string& text, bool caching) {
  auto engine =
      Engine::create(a.model, engine_options(a, KvDtype::F16, caching, a.prefix_requests));
  const Tokenizer& tok = engine->tokenizer();
  {
    Batch warm(*engine, {chatml(tok, "Hello.")}, 2);
  }
  const auto prefix = system_prefix(tok, text, a.prefix_tokens);
  std::vector<std::vector<int32_t>> prompts;
  long prompt_tokens = 0;
  for (int i = 0; i < a.prefix_requests; ++i) {
    prompts.push_back(with_question(
        tok, prefix, questions()[i % questions().size()] + " (" + std::to_string(i) + ")"));
    prompt_tokens += static_cast<long>(prompts.back().size());
  }
  const EngineStats s0 = engine->stats();
  const double load = load_average();
  const auto t0 = Clock::now();
  Batch b(*engine, prompts, /*gen=*/4);
  std::vector<double> ttft;
  Clock::time_point end = t0;
  for (const Trace& t : b.traces()) {
    ttft.push_back(seconds_between(t.submitted, t.first_token) * 1e3);
    end = std::max(end, t.finished);
  }
  const EngineStats s1 = engine->stats();
  std::printf(
      "{\"bench\": \"prefix_ttft\", \"prefix_caching\": %s, \"threads\": %d, \"requests\": %d, "
      "\"shared_prefix_tokens\": %zu, \"prompt_tokens\": %ld, \"prefill_tokens_computed\": %llu, "
      "\"prefix_cache_hit_tokens\": %llu, \"ttft_ms_p50\": %.0f, \"ttft_ms_p90\": %.0f, "
      "\"ttft_ms_max\": %.0f, "
      "\"seconds\": %.2f, \"load1\": %.2f}\n",
      caching ? "true" : "false", a.threads, a.prefix_requests, prefix.size(), prompt_tokens,
      static_cast<unsigned long long>(s1.prompt_tokens_total - s0.prompt_tokens_total),
      static_cast<unsigned long long>(s1.prefix_cache_hits - s0.prefix_cache_hits),
      percentile(ttft, 0.5), percentile(ttft, 0.9), *std::max_element(ttft.begin(), ttft.end()),
      seconds_between(t0, end), load);
  std::fflush(stdout);
}

// One request with a cold cache, then another with the same prefix and a different question.
void prefix_single(const Args& a, const std::string& text) {
  auto engine = Engine::create(a.model, engine_options(a, KvDtype::F16, true, 4));
  const Tokenizer& tok = engine->tokenizer();
  {
    Batch warm(*engine, {chatml(tok, "Hello.")}, 2);
  }
  const auto prefix = system_prefix(tok, text, a.prefix_tokens);
  double ttft[2];
  int cached[2];
  const double load = load_average();
  for (int i = 0; i < 2; ++i) {
    Batch b(*engine, {with_question(tok, prefix, questions()[i])}, 2);
    ttft[i] = seconds_between(b.traces()[0].submitted, b.traces()[0].first_token) * 1e3;
    cached[i] = b.traces()[0].finish.cached_prompt_tokens;
  }
  std::printf(
      "{\"bench\": \"prefix_single\", \"threads\": %d, \"prompt_tokens\": %zu, \"cold_ttft_ms\": "
      "%.0f, "
      "\"warm_ttft_ms\": %.0f, \"warm_cached_tokens\": %d, \"cold_cached_tokens\": %d, "
      "\"speedup\": %.1f, "
      "\"load1\": %.2f}\n",
      a.threads, with_question(tok, prefix, questions()[1]).size(), ttft[0], ttft[1], cached[1],
      cached[0], ttft[0] / ttft[1], load);
  std::fflush(stdout);
}

void kv_bytes(const Args& a) {
  auto file = GgufFile::open(a.model);
  const HParams hp = HParams::from_gguf(*file);
  const size_t f16 = KvStore(hp, 1, 16, KvDtype::F16).bytes_per_token();
  const size_t i8 = KvStore(hp, 1, 16, KvDtype::Int8).bytes_per_token();
  const size_t i4 = KvStore(hp, 1, 16, KvDtype::Int4).bytes_per_token();
  std::printf(
      "{\"bench\": \"kv_bytes\", \"n_layer\": %d, \"kv_dim\": %d, \"head_dim\": %d, "
      "\"f16_bytes_per_token\": %zu, "
      "\"int8_bytes_per_token\": %zu, \"int8_over_f16\": %.3f, "
      "\"int4_bytes_per_token\": %zu, \"int4_over_f16\": %.3f, \"tokens_per_gib_f16\": %zu, "
      "\"tokens_per_gib_int8\": %zu, \"tokens_per_gib_int4\": %zu}\n",
      hp.n_layer, hp.kv_dim(), hp.head_dim, f16, i8,
      static_cast<double>(i8) / static_cast<double>(f16), i4,
      static_cast<double>(i4) / static_cast<double>(f16), (size_t{1} << 30) / f16,
      (size_t{1} << 30) / i8, (size_t{1} << 30) / i4);
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    if (k == "-h" || k == "--help" || i + 1 >= argc) {
      std::fprintf(stderr,
                   "usage: %s [--model M.gguf] [--threads 2] [--concurrency 1,4,16,32] [--gen 64] "
                   "[--prefix-tokens 1024] [--prefix-requests 16] [--text FILE] [--kv-int8 1]\n",
                   argv[0]);
      return 2;
    }
    const char* v = argv[++i];
    if (k == "--model")
      a.model = v;
    else if (k == "--threads")
      a.threads = std::atoi(v);
    else if (k == "--concurrency")
      a.concurrency = parse_list(v);
    else if (k == "--gen")
      a.gen = std::atoi(v);
    else if (k == "--prefix-tokens")
      a.prefix_tokens = std::atoi(v);
    else if (k == "--prefix-requests")
      a.prefix_requests = std::atoi(v);
    else if (k == "--text")
      a.text = v;
    else if (k == "--kv-int8")
      a.int8 = std::atoi(v) != 0;
    else {
      std::fprintf(stderr, "unknown flag %s\n", k.c_str());
      return 2;
    }
  }
  if (a.concurrency.empty() || a.gen < 2 || a.prefix_tokens < 16 || a.prefix_requests < 1) {
    std::fprintf(
        stderr,
        "need a concurrency list, --gen >= 2, --prefix-tokens >= 16, --prefix-requests >= 1\n");
    return 2;
  }
  std::ifstream in(a.text);
  if (!in) {
    std::fprintf(stderr, "cannot read %s\n", a.text.c_str());
    return 1;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  try {
    kv_bytes(a);
    throughput(a, KvDtype::F16);
    if (a.int8) throughput(a, KvDtype::Int8);
    prefix_single(a, ss.str());
    prefix_ttft(a, ss.str(), true);
    prefix_ttft(a, ss.str(), false);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
