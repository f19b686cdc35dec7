// The quantized KV cache options must cost little in quality: perplexity within a stated bound
// of f16 KV, and greedy answers still right on a question the model gets right (int8: the same
// tokens).
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <future>
#include <sstream>

#include "engine/engine.h"
#include "engine/perplexity.h"
#include "engine/tokenizer.h"
#include "test_paths.h"

using namespace toolgate::engine;

namespace {

std::string read_text(const std::filesystem::path& p) {
  std::ifstream f(p);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

struct Answer {
  std::vector<int32_t> ids;
  std::string text;
};

Answer greedy_answer(KvDtype kv, const std::string& user) {
  EngineOptions o;
  o.kv_dtype = kv;
  o.kv_budget_bytes = 64ull << 20;
  o.max_num_seqs = 2;
  o.context_length = 1024;
  auto engine = Engine::create(toolgate::testing::default_model(), o);
  GenerationRequest req;
  req.prompt = engine->tokenizer().encode(
      "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging "
      "Face<|im_end|>\n"
      "<|im_start|>user\n" +
          user + "<|im_end|>\n<|im_start|>assistant\n",
      false, true);
  req.sampling.temperature = 0;
  req.max_tokens = 16;
  auto answer = std::make_shared<Answer>();
  std::promise<void> done;
  req.on_token = [answer](TokenEvent&& ev) {
    if (ev.id >= 0) answer->ids.push_back(ev.id);
    answer->text += ev.text;
  };
  req.on_finish = [&done](FinishEvent&&) { done.set_value(); };
  engine->submit(std::move(req));
  done.get_future().wait();
  return *answer;
}

// Perplexity over declaration.txt (ctx 512) with `kv` relative to f16 KV, minus 1.
double perplexity_change(const std::filesystem::path& model, KvDtype kv) {
  const std::string text =
      read_text(toolgate::testing::source_dir() / "tests/data/declaration.txt");
  EXPECT_GT(text.size(), 4000u);
  PerplexityOptions o;
  o.n_ctx = 512;
  o.kv_dtype = KvDtype::F16;
  const PerplexityResult f16 = compute_perplexity(model, text, o);
  o.kv_dtype = kv;
  const PerplexityResult q = compute_perplexity(model, text, o);
  const double change = q.perplexity / f16.perplexity - 1.0;
  std::printf("perplexity f16 %.4f %s %.4f (%+.3f%%) over %d tokens\n", f16.perplexity,
              kv_dtype_name(kv), q.perplexity, 100.0 * change, q.tokens_scored);
  EXPECT_EQ(q.tokens_scored, f16.tokens_scored);
  return change;
}

class KvQuantized : public ::testing::Test {
 protected:
  void SetUp() override {
    if (toolgate::testing::default_model().empty()) GTEST_SKIP() << "default model not fetched";
  }
};

}  // namespace

// Measured on SmolLM2-135M-Instruct Q4_1 over declaration.txt (1092 tokens, ctx 512, AVX2):
// f16 KV 20.5199, int8 KV 20.1824 (-1.6%), int4 KV 21.3943 (+4.3%).
// int8: the step is (max - min) / 255 per 64-value head row of the transformed keys/values
// (Transformer::set_kv_transform), sixteen times finer than the 4-bit steps the weights already
// carry; quantization noise happened to lower perplexity here. The two-sided bound of 3% is twice
// the measured change, still an order of magnitude under the gap between a sane run and a
// broken kernel (test_model.cpp: ~20 vs hundreds).
// int4: 16 levels per 32 values. Before the channel transform and the error-chosen range
// (centred keys and min-max levels only) it cost +12.7%; the bound of 8% fails on that.
TEST_F(KvQuantized, PerplexityStaysWithinThreePercentOfF16) {
  EXPECT_LT(std::abs(perplexity_change(toolgate::testing::default_model(), KvDtype::Int8)), 0.03);
}

TEST_F(KvQuantized, Int4PerplexityStaysWithinEightPercentOfF16) {
  EXPECT_LT(std::abs(perplexity_change(toolgate::testing::default_model(), KvDtype::Int4)), 0.08);
}

// Qwen2.5's early-layer keys share a large per-channel offset; quantized as is, int8 KV cost
// +11.4% perplexity (f16 49.1463, int8 54.7432 over declaration.txt, ctx 512). Subtracting the
// calibrated mean key before quantizing (exact for attention, see transformer.h) brought it to
// -0.79%; with the channel scales as well it is 49.2439 against 49.2725 (-0.06%). 3% sits well
// clear of both: it fails on the old behaviour, not on noise.
TEST(KvQuantizedQwen, PerplexityStaysWithinThreePercentOfF16) {
  if (toolgate::testing::tool_model().empty()) GTEST_SKIP() << "Qwen2.5 model not fetched";
  EXPECT_LT(std::abs(perplexity_change(toolgate::testing::tool_model(), KvDtype::Int8)), 0.03);
}

// Qwen2.5-Coder-0.5B, declaration.txt, ctx 512: f16 49.2725, int4 50.9267 (+3.4%). With only the
// centred keys and min-max levels int4 cost +32.6% (65.3470): Qwen's loud key channels set the
// step for every other channel of their group until the channel scales of set_kv_transform move
// that loudness into the query. 8% fails on the old behaviour with room for ISA differences.
TEST(KvQuantizedQwen, Int4PerplexityStaysWithinEightPercentOfF16) {
  if (toolgate::testing::tool_model().empty()) GTEST_SKIP() << "Qwen2.5 model not fetched";
  EXPECT_LT(std::abs(perplexity_change(toolgate::testing::tool_model(), KvDtype::Int4)), 0.08);
}

// Greedy decoding with int8 KV still answers correctly, and with the same tokens as f16 KV: a
// one-word factual answer leaves no near-tie for quantization noise to flip.
TEST_F(KvQuantized, GreedyStillAnswersTheCapitalOfFrance) {
  const std::string q = "What is the capital of France? Answer in one word.";
  const Answer f16 = greedy_answer(KvDtype::F16, q);
  const Answer i8 = greedy_answer(KvDtype::Int8, q);
  EXPECT_NE(i8.text.find("Paris"), std::string::npos) << i8.text;
  EXPECT_EQ(i8.ids, f16.ids) << "f16: " << f16.text << "\nint8: " << i8.text;
}

// int4 noise may reword the answer (it does for SmolLM2), but the fact survives.
TEST_F(KvQuantized, Int4GreedyStillAnswersTheCapitalOfFrance) {
  const Answer i4 = greedy_answer(KvDtype::Int4, "What is the capital of France? Answer in one word.");
  EXPECT_NE(i4.text.find("Paris"), std::string::npos) << i4.text;
}
