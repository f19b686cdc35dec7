// The real default model through the engine: perplexity, greedy answers, batching equivalence.
#include <gtest/gtest.h>

#include <fstream>
#include <future>
#include <sstream>

#include "engine/engine.h"
#include "engine/perplexity.h"
#include "engine/tokenizer.h"
#include "test_paths.h"

using namespace toolgate::engine;

namespace {

std::string read_file(const std::filesystem::path& p) {
  std::ifstream f(p);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

struct Result {
  std::vector<int32_t> ids;
  std::string text;
  FinishEvent finish;
};

// Submits a request and collects its events; returns a future completed by on_finish.
std::future<Result> generate(Engine& e, GenerationRequest req) {
  auto state = std::make_shared<std::pair<Result, std::promise<Result>>>();
  auto fut = state->second.get_future();
  req.on_token = [state](TokenEvent&& ev) {
    if (ev.id >= 0) state->first.ids.push_back(ev.id);
    state->first.text += ev.text;
  };
  req.on_finish = [state](FinishEvent&& f) {
    state->first.finish = f;
    state->second.set_value(std::move(state->first));
  };
  e.submit(std::move(req));
  return fut;
}

std::vector<int32_t> chatml(const Engine& e, const std::string& user) {
  return e.tokenizer().encode(
      "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n"
      "<|im_start|>user\n" + user + "<|im_end|>\n<|im_start|>assistant\n",
      false, true);
}

class DefaultModel : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (toolgate::testing::default_model().empty()) return;
    EngineOptions o;
    o.kv_budget_bytes = 256ull << 20;
    o.max_num_seqs = 8;
    o.context_length = 2048;
    engine_ = Engine::create(toolgate::testing::default_model(), o).release();
  }
  static void TearDownTestSuite() {
    delete engine_;
    engine_ = nullptr;
  }
  void SetUp() override {
    if (!engine_) GTEST_SKIP() << "default model not fetched";
  }
  static Engine* engine_;
};
Engine* DefaultModel::engine_ = nullptr;

}  // namespace

// SmolLM2-135M-Instruct scores ~10-20 on plain English prose of this kind; a broken kernel
// (wrong scales, a transposed weight, bad RoPE) sends it into the hundreds or thousands.
// The bound of 40 leaves room for quantization and tokenizer differences, nothing more.
TEST_F(DefaultModel, PerplexityOnPublicDomainTextIsSane) {
  std::string text = read_file(toolgate::testing::source_dir() / "tests/data/declaration.txt");
  ASSERT_GT(text.size(), 4000u);
  PerplexityOptions o;
  o.n_ctx = 512;
  auto r = compute_perplexity(toolgate::testing::default_model(), text, o);
  std::printf("perplexity %.3f over %d tokens\n", r.perplexity, r.tokens_scored);
  EXPECT_GT(r.tokens_scored, 900);
  EXPECT_LT(r.perplexity, 40.0);
  EXPECT_GT(r.perplexity, 1.5);
}

TEST_F(DefaultModel, GreedyAnswersTheCapitalOfFrance) {
  GenerationRequest req;
  req.prompt = chatml(*engine_, "What is the capital of France? Answer in one word.");
  req.sampling.temperature = 0;
  req.max_tokens = 32;
  Result r = generate(*engine_, std::move(req)).get();
  EXPECT_NE(r.text.find("Paris"), std::string::npos) << r.text;
  EXPECT_EQ(r.finish.prompt_tokens, static_cast<int>(chatml(*engine_, "What is the capital of France? Answer in one word.").size()));
}

TEST_F(DefaultModel, MaxTokensEndsWithLength) {
  GenerationRequest req;
  req.prompt = chatml(*engine_, "Write a long story about a dragon.");
  req.sampling.temperature = 0;
  req.max_tokens = 5;
  Result r = generate(*engine_, std::move(req)).get();
  EXPECT_EQ(r.finish.reason, FinishReason::Length);
  EXPECT_EQ(r.finish.completion_tokens, 5);
}

TEST_F(DefaultModel, StopStringNeverAppearsInOutput) {
  GenerationRequest base;
  base.prompt = chatml(*engine_, "What is the capital of France? Answer in one word.");
  base.sampling.temperature = 0;
  base.max_tokens = 32;
  Result full = generate(*engine_, base).get();
  auto at = full.text.find("Paris");
  ASSERT_NE(at, std::string::npos);
  GenerationRequest req = base;
  req.stop = {"aris"};
  Result r = generate(*engine_, std::move(req)).get();
  EXPECT_EQ(r.finish.reason, FinishReason::Stop);
  EXPECT_EQ(r.text, full.text.substr(0, at + 1));
}

// Greedy output of a sequence alone equals its output inside a batch of 8 mixed-length
// sequences, token for token (f16 KV): batching must not change the math.
TEST_F(DefaultModel, BatchedGreedyEqualsAlone) {
  const std::vector<std::string> prompts = {
      "What is the capital of France?", "Name three colors.", "Count from one to ten.",
      "What is 2 + 2?", "Write a haiku about the sea.", "Who wrote Hamlet?",
      "Explain gravity in one sentence.", "List the days of the week in order, please, one per line."};
  std::vector<Result> alone;
  for (const auto& p : prompts) {
    GenerationRequest req;
    req.prompt = chatml(*engine_, p);
    req.sampling.temperature = 0;
    req.max_tokens = 24;
    alone.push_back(generate(*engine_, std::move(req)).get());
  }
  std::vector<std::future<Result>> futs;
  for (const auto& p : prompts) {
    GenerationRequest req;
    req.prompt = chatml(*engine_, p);
    req.sampling.temperature = 0;
    req.max_tokens = 24;
    futs.push_back(generate(*engine_, std::move(req)));
  }
  for (size_t i = 0; i < prompts.size(); ++i) {
    Result r = futs[i].get();
    EXPECT_EQ(r.ids, alone[i].ids) << prompts[i];
  }
}

TEST_F(DefaultModel, PrefixCacheHitGivesSameTokensAsColdRun) {
  GenerationRequest req;
  req.prompt = chatml(*engine_, "Tell me about the history of Rome in a few sentences, please.");
  req.sampling.temperature = 0;
  req.max_tokens = 16;
  Result cold = generate(*engine_, req).get();
  Result warm = generate(*engine_, req).get();
  EXPECT_GT(warm.finish.cached_prompt_tokens, 16);
  EXPECT_EQ(warm.ids, cold.ids);
}

TEST_F(DefaultModel, CancelFreesBlocks) {
  GenerationRequest req;
  req.prompt = chatml(*engine_, "Write a very long essay about oceans.");
  req.max_tokens = 500;
  req.ignore_eos = true;
  auto state = std::make_shared<std::promise<FinishEvent>>();
  auto fut = state->get_future();
  req.on_finish = [state](FinishEvent&& f) { state->set_value(f); };
  auto id = engine_->submit(std::move(req));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  engine_->cancel(id);
  EXPECT_EQ(fut.get().reason, FinishReason::Cancelled);
  for (int i = 0; i < 100 && engine_->stats().running > 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(engine_->stats().kv_blocks_used, 0);
}

TEST_F(DefaultModel, ContextOverflowIsRefusedWithTheNumbers) {
  GenerationRequest req;
  req.prompt.assign(5000, 100);
  try {
    engine_->submit(std::move(req));
    FAIL();
  } catch (const EngineError& e) {
    EXPECT_EQ(e.kind(), EngineError::Kind::ContextLengthExceeded);
    EXPECT_NE(std::string(e.what()).find("2048"), std::string::npos);
  }
}
