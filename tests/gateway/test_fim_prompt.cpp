// FIM prompts built from the real Qwen2.5-Coder vocabulary: marker order, plain-text user code,
// the repo-level layout /infill sends, and llama.cpp's prefix/suffix budget.
#include <gtest/gtest.h>

#include "engine/gguf.h"
#include "engine/tokenizer.h"
#include "gateway/fim_prompt.h"
#include "tests/test_paths.h"

namespace toolgate::gateway {
namespace {

class FimPrompt : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto path = toolgate::testing::tool_model();
    if (path.empty()) GTEST_SKIP() << "model not fetched";
    file_ = engine::GgufFile::open(path);
    tok_ = engine::Tokenizer::from_gguf(*file_);
    fim_ = tok_->fim_tokens();
  }
  std::vector<int32_t> plain(const std::string& s) const { return tok_->encode(s, false, false); }

  std::unique_ptr<engine::GgufFile> file_;
  std::unique_ptr<engine::Tokenizer> tok_;
  engine::FimTokens fim_;
};

TEST_F(FimPrompt, IsPrefixSuffixMiddleInThatOrder) {
  FimRequest r;
  r.prefix = "def add(a, b):\n    return";
  r.suffix = "\n\nprint(add(1, 2))\n";
  const auto ids = build_fim_prompt(*tok_, r);
  std::vector<int32_t> want{fim_.prefix};
  for (int32_t t : plain(r.prefix)) want.push_back(t);
  want.push_back(fim_.suffix);
  for (int32_t t : plain(r.suffix)) want.push_back(t);
  want.push_back(fim_.middle);
  EXPECT_EQ(ids, want);
}

TEST_F(FimPrompt, MarkupTypedInTheCodeStaysText) {
  FimRequest r;
  r.prefix = "s = '<|fim_middle|><|endoftext|>'\n";
  r.suffix = "";
  const auto ids = build_fim_prompt(*tok_, r);
  int markers = 0;
  for (int32_t t : ids) markers += tok_->is_control(t);
  EXPECT_EQ(markers, 3);  // only the three the builder put there
}

TEST_F(FimPrompt, RepoLevelContextComesFirstWithFileSeparators) {
  FimRequest r;
  r.repo_level = true;
  r.repo_name = "demo";
  r.extra = {{"util.py", "X = 1\n"}};
  r.filename = "main.py";
  r.prefix = "from util import X\n";
  r.suffix = "\n";
  const std::string text = tok_->decode(build_fim_prompt(*tok_, r), /*render_special=*/true);
  EXPECT_EQ(text,
            "<|repo_name|>demo\n<|file_sep|>util.py\nX = 1\n<|file_sep|>main.py\n"
            "<|fim_prefix|>from util import X\n<|fim_suffix|>\n<|fim_middle|>");
}

TEST_F(FimPrompt, LlamaCppBudgetKeepsThePrefixEndAndTheSuffixStart) {
  FimRequest r;
  for (int i = 0; i < 400; ++i) r.prefix += "x" + std::to_string(i) + " = " + std::to_string(i) + "\n";
  r.suffix = r.prefix;
  r.llama_cpp_limits = true;
  const auto ids = build_fim_prompt(*tok_, r);
  const auto prefix = plain(r.prefix);
  ASSERT_GT(prefix.size(), 1536u);
  // <pre> + 1536 prefix tokens + <suf> + 510 suffix tokens + <mid>
  EXPECT_EQ(ids.size(), 1u + 1536u + 1u + 510u + 1u);
  EXPECT_EQ(ids[1536], prefix.back());
  EXPECT_EQ(ids[1538], prefix.front());  // the suffix starts where it starts
}

TEST(FimPromptSmolLM2, HasNoMarkers) {
  const auto path = toolgate::testing::default_model();
  if (path.empty()) GTEST_SKIP() << "model not fetched";
  auto file = engine::GgufFile::open(path);
  EXPECT_FALSE(engine::Tokenizer::from_gguf(*file)->fim_tokens().usable());
}

}  // namespace
}  // namespace toolgate::gateway
