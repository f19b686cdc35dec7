// Speculative decoding on the real models (engine/speculative/, LocalEngine): greedy output
// must equal plain greedy output token for token, whatever the proposer guesses, with many
// sequences batched (drafted and plain rows in one step), under a tool-call constraint and when
// a sequence is cancelled mid-generation; sampled output must keep its distribution.
#include <gtest/gtest.h>

#include <cmath>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

#include <nlohmann/json.hpp>

#include "engine/chat_template.h"
#include "engine/constrained/reply_constraint.h"
#include "engine/engine.h"
#include "engine/model/hparams.h"
#include "engine/model/transformer.h"
#include "engine/tokenizer.h"
#include "engine/tool_dialect.h"
#include "test_paths.h"

using namespace toolgate::engine;
using namespace toolgate::engine::constrained;
using json = nlohmann::json;
using ojson = nlohmann::ordered_json;

namespace {

struct Output {
  std::vector<int32_t> ids;
  std::string text;
  FinishReason reason = FinishReason::Error;
  int completion_tokens = 0;
};

EngineOptions options(SpeculativeOptions::Mode mode, const std::filesystem::path& draft = {}) {
  EngineOptions o;
  o.kv_budget_bytes = 256ull << 20;
  o.max_num_seqs = 16;
  o.context_length = 2048;
  o.threads = 2;
  o.speculative.mode = mode;
  o.speculative.draft_model = draft;
  return o;
}

// Runs every request at once (one batch) and returns the outputs in request order.
std::vector<Output> run_all(Engine& engine, std::vector<GenerationRequest> requests,
                            const std::function<void(Engine&, Engine::SequenceId, int)>& on_token = {}) {
  std::mutex mu;
  std::condition_variable cv;
  size_t done = 0;
  std::vector<Output> out(requests.size());
  std::vector<Engine::SequenceId> ids(requests.size());
  std::unique_lock lock(mu);
  for (size_t i = 0; i < requests.size(); ++i) {
    GenerationRequest& r = requests[i];
    r.on_token = [&, i](TokenEvent&& ev) {
      int n = 0;
      {
        std::lock_guard l(mu);
        if (ev.id >= 0) out[i].ids.push_back(ev.id);
        out[i].text += ev.text;
        n = static_cast<int>(out[i].ids.size());
      }
      if (on_token) on_token(engine, ids[i], n);
    };
    r.on_finish = [&, i](FinishEvent&& ev) {
      std::lock_guard l(mu);
      out[i].reason = ev.reason;
      out[i].completion_tokens = ev.completion_tokens;
      ++done;
      cv.notify_all();
    };
    ids[i] = engine.submit(std::move(r));
  }
  cv.wait(lock, [&] { return done == requests.size(); });
  return out;
}

const char* kQuestions[] = {
    "Write a Python function that returns the sum of a list of numbers.",
    "List the planets of the solar system, one per line.",
    "Repeat after me exactly: the quick brown fox jumps over the lazy dog, the quick brown fox "
    "jumps over the lazy dog.",
    "Write a JSON object with keys name, age and city for a person called Ada who is 36 and "
    "lives in London.",
    "What is 12 * 12? Answer briefly.",
    "Write a C function that copies a string.",
    "Count from 1 to 20 separated by commas.",
    "Explain in two sentences what a hash map is.",
    "Write a bash loop that prints the numbers 1 to 5.",
    "Translate 'good morning' into French, German and Spanish.",
    "Write an HTML list with three fruits.",
    "Give me a SQL query that selects all users older than 30 from a table users.",
};

std::vector<int32_t> chat_prompt(const Engine& engine, const std::string& user) {
  auto tmpl = ChatTemplate::create(engine.model().chat_template, {});
  ojson messages = ojson::array({{{"role", "user"}, {"content", user}}});
  return engine.tokenizer().encode(tmpl->render_ordered(messages, ojson::array(), true), true,
                                   true);
}

std::vector<GenerationRequest> greedy_requests(const Engine& engine, int max_tokens) {
  std::vector<GenerationRequest> out;
  for (const char* q : kQuestions) {
    GenerationRequest r;
    r.prompt = chat_prompt(engine, q);
    r.sampling.temperature = 0.0f;
    r.max_tokens = max_tokens;
    out.push_back(std::move(r));
  }
  return out;
}

void expect_same(const std::vector<Output>& plain, const std::vector<Output>& spec) {
  ASSERT_EQ(plain.size(), spec.size());
  for (size_t i = 0; i < plain.size(); ++i) {
    EXPECT_EQ(plain[i].ids, spec[i].ids) << "request " << i << "\nplain: " << plain[i].text
                                         << "\nspeculative: " << spec[i].text;
    EXPECT_EQ(plain[i].text, spec[i].text) << "request " << i;
    EXPECT_EQ(plain[i].reason, spec[i].reason) << "request " << i;
    EXPECT_EQ(plain[i].completion_tokens, spec[i].completion_tokens) << "request " << i;
  }
}

// stats() is published after each engine loop iteration, after the finish callbacks of its
// step: wait until the engine reports itself idle.
EngineStats idle_stats(const Engine& engine) {
  for (int i = 0; i < 200 && engine.stats().running > 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  return engine.stats();
}

bool have(const std::filesystem::path& p) { return !p.empty() && std::filesystem::exists(p); }

// The Qwen2.5-Coder-0.5B engine with and without prompt lookup, shared by the tests below.
class SpeculativeNgram : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const auto path = toolgate::testing::tool_model();
    if (!have(path)) return;
    plain_ = Engine::create(path, options(SpeculativeOptions::Mode::Off)).release();
    spec_ = Engine::create(path, options(SpeculativeOptions::Mode::Ngram)).release();
  }
  static void TearDownTestSuite() {
    delete plain_;
    delete spec_;
    plain_ = spec_ = nullptr;
  }
  void SetUp() override {
    if (!plain_) GTEST_SKIP() << "tool model not fetched";
  }
  // Plain greedy outputs of the shared batch, computed once.
  static const std::vector<Output>& plain_batch() {
    static const std::vector<Output> out = run_all(*plain_, greedy_requests(*plain_, kMaxTokens));
    return out;
  }
  static constexpr int kMaxTokens = 40;
  static inline Engine* plain_ = nullptr;
  static inline Engine* spec_ = nullptr;
};

}  // namespace

TEST_F(SpeculativeNgram, GreedyOutputEqualsPlainGreedyForABatchOfPrompts) {
  const auto& plain = plain_batch();
  const EngineStats before = spec_->stats();
  const auto spec = run_all(*spec_, greedy_requests(*spec_, kMaxTokens));
  expect_same(plain, spec);
  const EngineStats after = idle_stats(*spec_);
  // The proposer really proposed, the model really rejected some, and really accepted some.
  const uint64_t proposed = after.spec_proposed_total - before.spec_proposed_total;
  const uint64_t accepted = after.spec_accepted_total - before.spec_accepted_total;
  EXPECT_GT(proposed, 10u);
  EXPECT_GT(accepted, 0u);
  EXPECT_LT(accepted, proposed);
  EXPECT_EQ(after.kv_blocks_used, 0);
}

TEST_F(SpeculativeNgram, GreedyOutputEqualsPlainUnderAToolCallConstraint) {
  const char* tools = R"([
    {"type": "function", "function": {"name": "add", "description": "Add two numbers",
     "parameters": {"type": "object", "properties": {"a": {"type": "number"}, "b": {"type": "number"}},
     "required": ["a", "b"]}}},
    {"type": "function", "function": {"name": "mul", "description": "Multiply two numbers",
     "parameters": {"type": "object", "properties": {"a": {"type": "number"}, "b": {"type": "number"}},
     "required": ["a", "b"]}}}])";
  auto dialect = make_tool_dialect(plain_->model().chat_template, plain_->model().architecture);
  std::vector<ToolSpec> specs;
  for (const auto& t : json::parse(tools)) specs.push_back({t["function"]["name"], t["function"]["parameters"]});
  // Forced mode (tool_choice "required"): the constraint decides from the first token on.
  const std::string prefix = dialect->forced_call_prefix(std::nullopt);
  auto grammar = std::make_shared<ToolCallGrammar>(ToolCallGrammarOptions{
      dialect->call_format(), specs, std::nullopt, ConstraintMode::Forced, true});
  auto index = std::make_shared<TokenByteIndex>(plain_->tokenizer());
  auto tmpl = ChatTemplate::create(plain_->model().chat_template, {});
  const char* questions[] = {"Add 3 and 5 with the add tool.", "Multiply 7 by 6 using mul.",
                             "First add 3 and 5, then multiply by 2.", "What is 2 + 2? Use a tool.",
                             "Add 1234 and 5678.", "Say hello."};
  auto requests = [&](const Engine& engine) {
    std::vector<GenerationRequest> out;
    for (const char* q : questions) {
      GenerationRequest r;
      ojson messages = ojson::array({{{"role", "user"}, {"content", q}}});
      r.prompt = engine.tokenizer().encode(
          tmpl->render_ordered(messages, ojson::parse(tools), true) + prefix, true, true);
      r.sampling.temperature = 0.0f;
      r.max_tokens = 40;
      r.logits_processor = std::make_shared<ReplyConstraint>(grammar, index, prefix);
      out.push_back(std::move(r));
    }
    return out;
  };
  const auto plain = run_all(*plain_, requests(*plain_));
  const uint64_t proposed_before = spec_->stats().spec_proposed_total;
  const auto spec = run_all(*spec_, requests(*spec_));
  expect_same(plain, spec);
  EXPECT_GT(idle_stats(*spec_).spec_proposed_total, proposed_before) << "nothing was verified";
  // Every reply is a call to add or mul (the constraint really decided).
  for (const auto& o : plain) {
    const std::string call = prefix + o.text;  // the prefix may end inside the name's string
    EXPECT_TRUE(call.find("\"add\"") != std::string::npos ||
                call.find("\"mul\"") != std::string::npos)
        << call;
  }
}

TEST_F(SpeculativeNgram, CancelMidGenerationFreesEverythingAndOthersAreUnaffected) {
  // The first sequence to reach 10 tokens is cancelled from its token callback (the engine
  // thread, in the middle of a verify loop) while the others keep decoding.
  const auto& plain = plain_batch();
  std::atomic<bool> cancelled{false};
  const auto out = run_all(*spec_, greedy_requests(*spec_, kMaxTokens),
                           [&](Engine& e, Engine::SequenceId id, int n) {
                             if (n == 10 && !cancelled.exchange(true)) e.cancel(id);
                           });
  ASSERT_TRUE(cancelled.load());
  int n_cancelled = 0;
  for (size_t i = 0; i < out.size(); ++i) {
    if (out[i].reason == FinishReason::Cancelled) {
      ++n_cancelled;
      // What it emitted before the cancel took effect is what plain decoding emitted.
      ASSERT_LE(out[i].ids.size(), plain[i].ids.size());
      EXPECT_TRUE(std::equal(out[i].ids.begin(), out[i].ids.end(), plain[i].ids.begin())) << i;
    } else {
      EXPECT_EQ(out[i].ids, plain[i].ids) << "request " << i;
    }
  }
  EXPECT_EQ(n_cancelled, 1);
  EXPECT_EQ(idle_stats(*spec_).kv_blocks_used, 0);
  // And the engine goes on: the same batch again equals plain decoding.
  expect_same(plain, run_all(*spec_, greedy_requests(*spec_, kMaxTokens)));
}

// The same check on the small default model (fast enough for the sanitizer run): raw text
// prompts, some repetitive (many proposals), with penalties so that the verified positions go
// through the whole sampler pipeline.
TEST(SpeculativeSmall, GreedyWithPenaltiesEqualsPlainOnTheDefaultModel) {
  const auto path = toolgate::testing::default_model();
  if (!have(path)) GTEST_SKIP() << "default model not fetched";
  auto plain = Engine::create(path, options(SpeculativeOptions::Mode::Off));
  auto spec = Engine::create(path, options(SpeculativeOptions::Mode::Ngram));
  const char* texts[] = {"one two three four one two three four one two",
                         "def add(a, b):\n    return a + b\n\ndef sub(a, b):\n    return",
                         "The cat sat on the mat. The cat sat on the",
                         "Paris is the capital of France. Berlin is the capital of",
                         "{\"name\": \"Ada\", \"age\": 36}, {\"name\": \"Bob\", \"age\":"};
  auto requests = [&](const Engine& e) {
    std::vector<GenerationRequest> out;
    for (int penalty = 0; penalty < 2; ++penalty)
      for (const char* t : texts) {
        GenerationRequest r;
        r.prompt = e.tokenizer().encode(t, true, false);
        r.sampling.temperature = 0.0f;
        if (penalty) {
          r.sampling.repetition_penalty = 1.1f;
          r.sampling.frequency_penalty = 0.3f;
        }
        r.max_tokens = 32;
        out.push_back(std::move(r));
      }
    return out;
  };
  expect_same(run_all(*plain, requests(*plain)), run_all(*spec, requests(*spec)));
  const EngineStats st = idle_stats(*spec);
  EXPECT_GT(st.spec_accepted_total, 20u);
  EXPECT_EQ(st.kv_blocks_used, 0);
}

// Sampling keeps its distribution. SmolLM2 continues a repetitive text at temperature 1, where
// prompt lookup proposes the repetition and the model sometimes disagrees. Three tokens per
// draw: the first comes from the prompt's prefill, the second is a verified position (accepted
// with probability p(d), else drawn from p without d), the third is the bonus token after an
// accepted proposal or a plain draw. Conditioned on the most likely first token, the observed
// (second, third) pairs are compared with the exact probabilities, read from a plain engine's
// logprobs, by Pearson's chi-square test.
TEST(SpeculativeSampling, ChiSquareOfSampledPairsMatchesTheModelDistribution) {
  const auto path = toolgate::testing::default_model();
  if (!have(path)) GTEST_SKIP() << "default model not fetched";
  auto plain = Engine::create(path, options(SpeculativeOptions::Mode::Off));
  EngineOptions so = options(SpeculativeOptions::Mode::Ngram);
  so.max_waiting = 4096;  // every draw is submitted at once
  so.max_num_seqs = 64;
  auto spec = Engine::create(path, so);
  const std::vector<int32_t> prompt = plain->tokenizer().encode(
      "red green blue yellow red green blue yellow red green blue yellow red green", true, false);

  // Top-20 next-token distribution after `context` (logprobs are those of the sampling
  // distribution here: temperature 1, no truncation, no penalties).
  auto next_dist = [&](std::vector<int32_t> context) {
    GenerationRequest r;
    r.prompt = std::move(context);
    r.max_tokens = 1;
    r.sampling.temperature = 0.0f;
    r.sampling.logprobs = true;
    r.sampling.top_logprobs = 20;
    std::vector<std::pair<int32_t, double>> out;
    std::mutex mu;
    std::condition_variable cv;
    bool done = false;
    r.on_token = [&](TokenEvent&& ev) {
      if (ev.id < 0) return;
      for (const auto& t : ev.top) out.emplace_back(t.id, std::exp(static_cast<double>(t.logprob)));
    };
    r.on_finish = [&](FinishEvent&&) {
      std::lock_guard l(mu);
      done = true;
      cv.notify_all();
    };
    plain->submit(std::move(r));
    std::unique_lock l(mu);
    cv.wait(l, [&] { return done; });
    return out;
  };
  const auto d1 = next_dist(prompt);
  ASSERT_FALSE(d1.empty());
  const int32_t t1 = d1[0].first;
  std::vector<int32_t> ctx1 = prompt;
  ctx1.push_back(t1);
  // Expected probability of each (t2, t3) cell with the top 3 t2 and their top 4 t3.
  std::map<std::pair<int32_t, int32_t>, double> expected;
  const auto d2 = next_dist(ctx1);
  for (size_t i = 0; i < 3 && i < d2.size(); ++i) {
    std::vector<int32_t> ctx2 = ctx1;
    ctx2.push_back(d2[i].first);
    const auto d3 = next_dist(ctx2);
    for (size_t j = 0; j < 4 && j < d3.size(); ++j)
      expected[{d2[i].first, d3[j].first}] = d2[i].second * d3[j].second;
  }

  const int kDraws = 1200;
  std::vector<GenerationRequest> requests;
  for (int i = 0; i < kDraws; ++i) {
    GenerationRequest r;
    r.prompt = prompt;
    r.max_tokens = 3;
    r.ignore_eos = true;
    r.sampling.temperature = 1.0f;
    r.sampling.seed = 7919u * static_cast<uint64_t>(i) + 1;
    requests.push_back(std::move(r));
  }
  const EngineStats before = spec->stats();
  const auto outs = run_all(*spec, std::move(requests));
  const EngineStats after = idle_stats(*spec);
  const uint64_t proposed = after.spec_proposed_total - before.spec_proposed_total;
  const uint64_t accepted = after.spec_accepted_total - before.spec_accepted_total;
  // A draw gets a proposal when its first token continues the repetition (" blue" after
  // " green"), which then matches the prompt.
  ASSERT_GT(proposed, static_cast<uint64_t>(kDraws / 10)) << "prompt lookup should propose";
  ASSERT_GT(accepted, 0u);
  ASSERT_LT(accepted, proposed) << "the rejection path must be exercised";

  std::map<std::pair<int32_t, int32_t>, int> observed;
  int n = 0, other = 0;
  for (const auto& o : outs) {
    ASSERT_EQ(o.ids.size(), 3u);
    if (o.ids[0] != t1) continue;
    ++n;
    const std::pair<int32_t, int32_t> cell{o.ids[1], o.ids[2]};
    if (expected.contains(cell)) {
      ++observed[cell];
    } else {
      ++other;
    }
  }
  ASSERT_GT(n, 300);
  // Pearson's statistic over the cells expected at least 5 times, the rest pooled in "other".
  double p_other = 1.0, chi2 = 0.0;
  int cells = 0;
  for (const auto& [cell, p] : expected) {
    const double e = p * n;
    if (e < 5.0) {
      other += observed[cell];
      continue;
    }
    p_other -= p;
    chi2 += (observed[cell] - e) * (observed[cell] - e) / e;
    ++cells;
  }
  const double e_other = std::max(p_other, 0.0) * n;
  if (e_other >= 5.0) {
    chi2 += (other - e_other) * (other - e_other) / e_other;
    ++cells;
  }
  ASSERT_GE(cells, 3) << "distribution too peaked for a meaningful test";
  // Critical values of chi-square at p = 0.001 for df = cells - 1 (df 2..12).
  const double kCritical[] = {0, 0, 13.82, 16.27, 18.47, 20.52, 22.46, 24.32,
                              26.12, 27.88, 29.59, 31.26, 32.91};
  const int df = cells - 1;
  ASSERT_LE(df, 12);
  EXPECT_LT(chi2, kCritical[df]) << "chi2 " << chi2 << " with " << df << " degrees of freedom over "
                                 << n << " draws";
}

// Qwen2.5-Coder-0.5B drafting for the 1.5B: same vocabulary, greedy output unchanged.
TEST(SpeculativeDraft, GreedyOutputOfTheAgentModelEqualsPlainWithTheToolModelDrafting) {
  const auto target = toolgate::testing::agent_model();
  const auto draft = toolgate::testing::tool_model();
  if (!have(target) || !have(draft)) GTEST_SKIP() << "Qwen2.5-Coder models not fetched";
  auto plain = Engine::create(target, options(SpeculativeOptions::Mode::Off));
  auto reqs = [&](const Engine& e) {
    auto all = greedy_requests(e, 24);
    all.resize(6);
    return all;
  };
  const auto expected = run_all(*plain, reqs(*plain));
  plain.reset();
  auto spec = Engine::create(target, options(SpeculativeOptions::Mode::Draft, draft));
  const auto got = run_all(*spec, reqs(*spec));
  expect_same(expected, got);
  const EngineStats st = idle_stats(*spec);
  EXPECT_GT(st.spec_accepted_total, st.spec_proposed_total / 3) << "the 0.5B should mostly agree";
  EXPECT_EQ(st.kv_blocks_used, 0);
}

TEST(SpeculativeDraft, ADraftWithAnotherVocabularyIsRefusedNamingBothModels) {
  const auto target = toolgate::testing::tool_model();
  const auto draft = toolgate::testing::default_model();
  if (!have(target) || !have(draft)) GTEST_SKIP() << "models not fetched";
  try {
    Engine::create(target, options(SpeculativeOptions::Mode::Draft, draft));
    FAIL() << "expected a vocabulary mismatch";
  } catch (const std::runtime_error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find(draft.filename().string()), std::string::npos) << what;
    EXPECT_NE(what.find(target.filename().string()), std::string::npos) << what;
    EXPECT_NE(what.find("vocabulary"), std::string::npos) << what;
  }
}
