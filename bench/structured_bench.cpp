// structured_bench [--model M.gguf] [--threads N] [--gen N] [--batch 1,16]
// What structured outputs (response_format json_schema, engine/constrained/) cost. Prints JSON
// lines on stdout:
//   {"bench":"index"}    building the vocabulary index (done once, at model load).
//   {"bench":"compile"}  compiling typical response schemas: median and max ms over repeated
//                        cold compiles, and a cache hit.
//   {"bench":"decode"}   generation tokens/s at each batch size, free vs under a schema (greedy,
//                        the same prompts), their ratio, time to first token, and how the
//                        constraint was paid: picks checked, picks refused (a full mask was
//                        computed on the critical path), the longest run of consecutive refused
//                        picks, and mean mask time.
// The schema asks for a long array of objects, so every constrained sequence decodes the full
// --gen tokens (the run is cut by max_tokens, like the free one).
// Every figure comes with the 1-minute load average read just before the run.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/constrained/compiled_schema.h"
#include "engine/constrained/reply_constraint.h"
#include "bench_stats.h"
#include "engine/engine.h"
#include "engine/tokenizer.h"

using namespace toolgate::engine;
using namespace toolgate::engine::constrained;
using Clock = std::chrono::steady_clock;
using toolgate::bench::load_average;

namespace {

struct Args {
  std::string model = "models/Qwen2.5-Coder-0.5B-Instruct-Q4_K_M.gguf";
  int threads = 2;
  int gen = 128;
  std::vector<int> batch = {1, 16};
};

double ms_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

const char* kLongSchema = R"({"type": "object", "properties": {
  "inventory": {"type": "array", "minItems": 200, "items": {"type": "object", "properties": {
    "name": {"type": "string", "maxLength": 40},
    "category": {"type": "string", "enum": ["tools", "garden", "kitchen", "office", "toys"]},
    "qty": {"type": "integer", "minimum": 0, "maximum": 1000},
    "price": {"type": "number", "minimum": 0, "maximum": 10000},
    "in_stock": {"type": "boolean"}},
    "required": ["name", "category", "qty", "price", "in_stock"], "additionalProperties": false}}},
  "required": ["inventory"], "additionalProperties": false})";

const std::vector<const char*> kTypicalSchemas = {
    R"({"type":"object","properties":{"name":{"type":"string"},"age":{"type":"integer","minimum":0,"maximum":150},
        "email":{"type":"string","format":"email"}},"required":["name","age","email"],"additionalProperties":false})",
    R"({"type":"object","properties":{"label":{"type":"string","enum":["positive","negative","neutral"]},
        "score":{"type":"number","minimum":0,"maximum":1}},"required":["label","score"],"additionalProperties":false})",
    R"({"type":"object","properties":{"todos":{"type":"array","maxItems":5,"items":{"type":"object",
        "properties":{"task":{"type":"string"},"done":{"type":"boolean"},"due":{"type":"string","format":"date"},
        "priority":{"type":"string","enum":["low","medium","high"]}},"required":["task","done","priority"],
        "additionalProperties":false}}},"required":["todos"],"additionalProperties":false})",
    R"({"$defs":{"node":{"type":"object","properties":{"name":{"type":"string"},"children":{"type":"array",
        "items":{"$ref":"#/$defs/node"}}},"required":["name","children"],"additionalProperties":false}},
        "$ref":"#/$defs/node"})",
    R"({"type":"object","properties":{"shape":{"oneOf":[{"type":"object","properties":{"kind":{"const":"circle"},
        "r":{"type":"number"}},"required":["kind","r"],"additionalProperties":false},{"type":"object",
        "properties":{"kind":{"const":"rect"},"w":{"type":"number"},"h":{"type":"number"}},
        "required":["kind","w","h"],"additionalProperties":false}]},"sku":{"type":"string",
        "pattern":"^[A-Z]{3}-[0-9]{4}$"}},"required":["shape","sku"],"additionalProperties":false})",
};

// Counts how the engine used the constraint: picks checked, picks refused (each costs a full
// mask on the critical path), the longest run of consecutive refusals, mask time.
class CountingProcessor final : public LogitsProcessor {
 public:
  explicit CountingProcessor(std::shared_ptr<LogitsProcessor> inner) : inner_(std::move(inner)) {}
  bool allows(int32_t token) override {
    ++checks;
    const bool ok = inner_->allows(token);
    if (!ok) {
      ++refused;
      longest_run = std::max(longest_run, ++run_);
    } else {
      run_ = 0;
    }
    return ok;
  }
  void mask(std::span<float> logits) override {
    const auto t0 = Clock::now();
    inner_->mask(logits);
    mask_ms += ms_between(t0, Clock::now());
    ++masks;
  }
  void accept(int32_t token) override { inner_->accept(token); }

  long checks = 0, refused = 0, masks = 0;
  int longest_run = 0;
  double mask_ms = 0;

 private:
  std::shared_ptr<LogitsProcessor> inner_;
  int run_ = 0;
};

struct Run {
  double decode_tps = 0, ttft_ms = 0;
  long tokens = 0, checks = 0, refused = 0, masks = 0;
  int longest_run = 0;
  double mask_ms = 0;
};

// Submits one request per prompt at once, waits for all. `factory` (may be null) gives each
// request its constraint.
Run run_batch(Engine& engine, const std::vector<std::vector<int32_t>>& prompts, int gen,
              const std::function<std::shared_ptr<LogitsProcessor>()>& factory) {
  std::mutex mu;
  std::condition_variable cv;
  int done = 0;
  const size_t n = prompts.size();
  std::vector<Clock::time_point> first(n), finished(n);
  std::vector<int> counts(n, 0);
  std::vector<std::shared_ptr<CountingProcessor>> procs(n);
  const auto t0 = Clock::now();
  for (size_t i = 0; i < n; ++i) {
    GenerationRequest r;
    r.prompt = prompts[i];
    r.sampling.temperature = 0;
    r.max_tokens = gen;
    r.ignore_eos = !factory;  // a constrained reply cannot end before its array is long enough
    if (factory) {
      procs[i] = std::make_shared<CountingProcessor>(factory());
      r.logits_processor = procs[i];
    }
    r.on_token = [&, i](TokenEvent&& ev) {
      if (ev.id < 0) return;
      if (counts[i]++ == 0) first[i] = Clock::now();
    };
    r.on_finish = [&, i](FinishEvent&&) {
      finished[i] = Clock::now();
      std::lock_guard lock(mu);
      if (++done == static_cast<int>(n)) cv.notify_one();
    };
    engine.submit(std::move(r));
  }
  std::unique_lock lock(mu);
  cv.wait(lock, [&] { return done == static_cast<int>(n); });
  Run out;
  // Decode rate: tokens after the last first token, over the time from then to the last finish.
  const auto all_started = *std::max_element(first.begin(), first.end());
  const auto end = *std::max_element(finished.begin(), finished.end());
  long after = 0;
  for (size_t i = 0; i < n; ++i) {
    out.tokens += counts[i];
    out.ttft_ms += ms_between(t0, first[i]) / static_cast<double>(n);
    // Tokens each sequence produced after all_started, estimated from its own steady rate.
    const double span = ms_between(first[i], finished[i]);
    const double tail = ms_between(std::max(first[i], all_started), finished[i]);
    after += span > 0 ? static_cast<long>((counts[i] - 1) * tail / span) : 0;
    if (procs[i]) {
      out.checks += procs[i]->checks;
      out.refused += procs[i]->refused;
      out.masks += procs[i]->masks;
      out.longest_run = std::max(out.longest_run, procs[i]->longest_run);
      out.mask_ms += procs[i]->mask_ms;
    }
  }
  const double decode_ms = ms_between(all_started, end);
  out.decode_tps = decode_ms > 0 ? after / (decode_ms / 1000.0) : 0;
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    auto next = [&] { return i + 1 < argc ? argv[++i] : ""; };
    if (!std::strcmp(argv[i], "--model")) a.model = next();
    else if (!std::strcmp(argv[i], "--threads")) a.threads = std::atoi(next());
    else if (!std::strcmp(argv[i], "--gen")) a.gen = std::atoi(next());
    else if (!std::strcmp(argv[i], "--batch")) {
      a.batch.clear();
      std::stringstream ss(next());
      std::string x;
      while (std::getline(ss, x, ',')) a.batch.push_back(std::stoi(x));
    }
  }
  EngineOptions o;
  o.threads = a.threads;
  o.context_length = 2048;
  o.prefix_caching = false;
  o.max_num_seqs = *std::max_element(a.batch.begin(), a.batch.end());
  o.kv_budget_bytes = 1ull << 30;
  auto engine = Engine::create(a.model, o);
  const Tokenizer& tok = engine->tokenizer();

  auto t0 = Clock::now();
  auto index = std::make_shared<TokenByteIndex>(tok);
  std::printf("{\"bench\": \"index\", \"model\": \"%s\", \"n_vocab\": %d, \"build_ms\": %.1f}\n",
              engine->model().name.c_str(), tok.n_vocab(), ms_between(t0, Clock::now()));

  // Schema compiles: cold (a new SchemaSet each time), then a cache hit.
  for (size_t s = 0; s < kTypicalSchemas.size(); ++s) {
    const auto schema = nlohmann::ordered_json::parse(kTypicalSchemas[s]);
    std::vector<double> ms;
    for (int rep = 0; rep < 50; ++rep) ms.push_back(compile_schema(schema, false)->compile_ms);
    std::sort(ms.begin(), ms.end());
    SchemaCache cache;
    cache.get(schema, false);
    const auto h0 = Clock::now();
    cache.get(schema, false);
    const double hit_ms = ms_between(h0, Clock::now());
    std::printf(
        "{\"bench\": \"compile\", \"schema\": %zu, \"bytes\": %zu, \"median_ms\": %.3f, "
        "\"max_ms\": %.3f, \"cache_hit_ms\": %.4f, \"issues\": %zu}\n",
        s, std::strlen(kTypicalSchemas[s]), ms[ms.size() / 2], ms.back(), hit_ms,
        compile_schema(schema, false)->issues.size());
  }

  auto answer = compile_schema(nlohmann::ordered_json::parse(kLongSchema), false);
  auto grammar = std::make_shared<const ReplyGrammar>(nullptr, answer);
  auto factory = [&]() -> std::shared_ptr<LogitsProcessor> {
    return std::make_shared<ReplyConstraint>(grammar, index);
  };
  static const char* items[] = {"a hardware store", "a toy shop", "a kitchen supply shop",
                                "a garden center", "an office supplier", "a bakery",
                                "a bike shop", "a bookshop"};
  {  // warm-up: weights paged in
    run_batch(*engine, {tok.encode("<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n",
                                   false, true)},
              4, nullptr);
  }
  for (int b : a.batch) {
    std::vector<std::vector<int32_t>> prompts;
    for (int i = 0; i < b; ++i)
      prompts.push_back(tok.encode(
          std::string("<|im_start|>user\nList the inventory of ") + items[i % 8] +
              " as JSON (request " + std::to_string(i) +
              ").<|im_end|>\n<|im_start|>assistant\n",
          false, true));
    const double load_free = load_average();
    Run free = run_batch(*engine, prompts, a.gen, nullptr);
    const double load_schema = load_average();
    Run constrained = run_batch(*engine, prompts, a.gen, factory);
    std::printf(
        "{\"bench\": \"decode\", \"model\": \"%s\", \"threads\": %d, \"batch\": %d, \"gen\": %d, "
        "\"free_tps\": %.1f, \"schema_tps\": %.1f, \"ratio\": %.3f, \"free_ttft_ms\": %.1f, "
        "\"schema_ttft_ms\": %.1f, \"checks\": %ld, \"refused\": %ld, "
        "\"longest_refused_run\": %d, \"mean_mask_ms\": %.2f, \"load_free\": %.2f, "
        "\"load_schema\": %.2f}\n",
        engine->model().name.c_str(), a.threads, b, a.gen, free.decode_tps,
        constrained.decode_tps,
        free.decode_tps > 0 ? constrained.decode_tps / free.decode_tps : 0, free.ttft_ms,
        constrained.ttft_ms, constrained.checks, constrained.refused, constrained.longest_run,
        constrained.masks ? constrained.mask_ms / static_cast<double>(constrained.masks) : 0,
        load_free, load_schema);
    std::fflush(stdout);
  }
  return 0;
}
