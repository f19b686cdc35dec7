// The tokenizers of the two models Toolgate ships with (SmolLM2: gpt2/smollm, Qwen2.5-Coder:
// gpt2/qwen2): chat control tokens, end-of-generation ids, lossless round trips, streaming.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "engine/gguf.h"
#include "engine/tokenizer.h"
#include "test_paths.h"

namespace toolgate::engine {
namespace {

// Text a tokenizer must reproduce byte for byte: ASCII, spacing, code, accents (composed and
// combining), CJK, Korean, Arabic, Devanagari, emoji with ZWJ and variation selectors, flags.
const std::vector<std::string>& corpus() {
  static const std::vector<std::string> texts = {
      "Hello world",
      " leading space, trailing space ",
      "Tabs\tand\nnewlines\r\n\n\n   indented\n\t\tcode();",
      "int main() { return 42; }  // 1234567890 3.14159 -7e-3",
      "I'm sure they'll say it's 'fine', won't they? YOU'RE RIGHT.",
      "naïve café résumé — “quotes” … ‘single’",
      "e\xCC\x81 combining acute, \xE1\x84\x80\xE1\x85\xA1 conjoining jamo",
      "我想在apple工作1314151天～ 日本語のテキスト。",
      "한국어 텍스트입니다",
      "مرحبا بالعالم",
      "नमस्ते दुनिया",
      "Emoji: 🦙🚀 😶‍🌫️ 👩🏽‍💻 🇺🇸 ✅",
      "Math: ∑ x² ≤ ∞ → ℝ, ½ ⅓",
      "  \u3000ideographic space\u00a0nbsp\u2009thin",
      "<|im_start|> as plain text when not parsing specials",
      std::string(300, ' ') + "many spaces" + std::string(50, '\n'),
  };
  return texts;
}

std::unique_ptr<GgufFile> open_or_skip(const std::filesystem::path& p) {
  if (p.empty()) return nullptr;
  return GgufFile::open(p);
}

// Each chunk a stream decoder returns must be complete, valid UTF-8.
bool is_valid_utf8(const std::string& s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto b = static_cast<uint8_t>(s[i]);
    size_t n = b < 0x80 ? 1 : (b >> 5) == 6 ? 2 : (b >> 4) == 14 ? 3 : (b >> 3) == 30 ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    for (size_t k = 1; k < n; ++k) {
      if ((static_cast<uint8_t>(s[i + k]) & 0xC0) != 0x80) return false;
    }
    i += n;
  }
  return true;
}

class ModelTokenizer : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    const auto path = GetParam() == "smollm2" ? toolgate::testing::default_model()
                                              : toolgate::testing::tool_model();
    file_ = open_or_skip(path);
    if (!file_) GTEST_SKIP() << "model not fetched";
    tok_ = Tokenizer::from_gguf(*file_);
  }
  std::unique_ptr<GgufFile> file_;
  std::unique_ptr<Tokenizer> tok_;
};

TEST_P(ModelTokenizer, HelloWorldRoundTrips) {
  const auto ids = tok_->encode("Hello world", false, false);
  ASSERT_EQ(ids.size(), 2u);
  EXPECT_EQ(tok_->decode(ids), "Hello world");
  EXPECT_EQ(tok_->token_to_piece(ids[1]), " world");
}

TEST_P(ModelTokenizer, DecodeOfEncodeIsIdentityOnUtf8Corpus) {
  for (const auto& text : corpus()) {
    const auto ids = tok_->encode(text, false, false);
    EXPECT_EQ(tok_->decode(ids), text);
  }
}

TEST_P(ModelTokenizer, StreamDecoderFedTokenByTokenNeverSplitsACharacter) {
  for (const auto& text : corpus()) {
    Utf8StreamDecoder dec;
    std::string joined;
    for (int32_t id : tok_->encode(text, false, false)) {
      const std::string chunk = dec.push(tok_->token_to_piece(id));
      EXPECT_TRUE(is_valid_utf8(chunk)) << text;
      joined += chunk;
    }
    joined += dec.flush();
    EXPECT_EQ(joined, text);
  }
}

TEST_P(ModelTokenizer, StreamDecoderFedByteByByteReproducesText) {
  for (const auto& text : corpus()) {
    const std::string bytes = tok_->decode(tok_->encode(text, false, false));
    Utf8StreamDecoder dec;
    std::string joined;
    for (char b : bytes) {
      const std::string chunk = dec.push(std::string_view(&b, 1));
      EXPECT_TRUE(is_valid_utf8(chunk));
      joined += chunk;
    }
    joined += dec.flush();
    EXPECT_EQ(joined, text);
  }
}

TEST_P(ModelTokenizer, ChatMarkupIsNotSpecialUnlessParsingIsRequested) {
  const std::string chat = "<|im_start|>user\nHi<|im_end|>";
  const int32_t start = tok_->find_token("<|im_start|>");
  const int32_t end = tok_->find_token("<|im_end|>");
  const auto plain = tok_->encode(chat, false, false);
  EXPECT_EQ(std::count(plain.begin(), plain.end(), start), 0);
  EXPECT_EQ(tok_->decode(plain), chat);
  const auto parsed = tok_->encode(chat, false, true);
  EXPECT_EQ(parsed.front(), start);
  EXPECT_EQ(parsed.back(), end);
  EXPECT_EQ(tok_->decode(parsed), "user\nHi");
  EXPECT_EQ(tok_->decode(parsed, /*render_special=*/true), chat);
}

TEST_P(ModelTokenizer, LongPromptRoundTrips) {
  // 16 KB of mixed prose, numbers and code. Its speed is a figure of bench/tokenizer_bench.
  std::string text;
  const std::string para =
      "The quick brown fox jumps over the lazy dog. Tokenizers split text into words, then merge "
      "bytes into the most frequent pairs; a server must do this for every prompt it receives, "
      "so it has to be fast: 4,096 tokens in a few milliseconds, even with numbers like 3.14159 "
      "and punctuation (lots of it!) -- or code: for (int i = 0; i < n; ++i) { sum += a[i]; }\n";
  while (text.size() < 16000) text += para;
  const auto ids = tok_->encode(text, false, false);
  EXPECT_GT(ids.size(), 3000u);
  EXPECT_LT(ids.size(), text.size() / 2);  // real merging happened
  EXPECT_EQ(tok_->decode(ids), text);
}

INSTANTIATE_TEST_SUITE_P(Models, ModelTokenizer, ::testing::Values("smollm2", "qwen25"));

TEST(SmolLM2Tokenizer, ChatControlTokensAreOneAndTwo) {
  auto file = open_or_skip(toolgate::testing::default_model());
  if (!file) GTEST_SKIP() << "model not fetched";
  auto tok = Tokenizer::from_gguf(*file);
  const auto ids = tok->encode("<|im_start|>user\nHi<|im_end|>", false, true);
  EXPECT_EQ(ids.front(), 1);
  EXPECT_EQ(ids.back(), 2);
  EXPECT_TRUE(tok->is_control(1));
  EXPECT_EQ(tok->eos_id(), 2);
  EXPECT_TRUE(tok->is_eog(2));   // <|im_end|>
  EXPECT_TRUE(tok->is_eog(0));   // <|endoftext|>
  EXPECT_FALSE(tok->is_eog(1));  // <|im_start|>
  // add_bos_token = false in the file: no BOS even when specials are requested.
  EXPECT_EQ(tok->encode("Hi", true, false), tok->encode("Hi", false, false));
}

TEST(QwenTokenizer, ChatControlTokensAndEndOfGeneration) {
  auto file = open_or_skip(toolgate::testing::tool_model());
  if (!file) GTEST_SKIP() << "model not fetched";
  auto tok = Tokenizer::from_gguf(*file);
  const auto ids = tok->encode("<|im_start|>user\nHi<|im_end|>", false, true);
  EXPECT_EQ(ids.front(), 151644);
  EXPECT_EQ(ids.back(), 151645);
  EXPECT_EQ(tok->eos_id(), 151645);
  EXPECT_TRUE(tok->is_eog(151645));  // <|im_end|>
  EXPECT_TRUE(tok->is_eog(151643));  // <|endoftext|>
  EXPECT_TRUE(tok->is_eog(tok->find_token("<|fim_pad|>")));  // FIM pad/repo/file_sep, as llama.cpp
  EXPECT_FALSE(tok->is_eog(151644));
  EXPECT_FALSE(tok->is_eog(tok->encode("Hi", false, false)[0]));
}

TEST(QwenTokenizer, FimMarkersAreFoundByTextAsTheGgufNamesNoIds) {
  auto file = open_or_skip(toolgate::testing::tool_model());
  if (!file) GTEST_SKIP() << "model not fetched";
  auto tok = Tokenizer::from_gguf(*file);
  const auto fim = tok->fim_tokens();
  ASSERT_TRUE(fim.usable());
  EXPECT_EQ(tok->token_text(fim.prefix), "<|fim_prefix|>");
  EXPECT_EQ(tok->token_text(fim.suffix), "<|fim_suffix|>");
  EXPECT_EQ(tok->token_text(fim.middle), "<|fim_middle|>");
  EXPECT_EQ(tok->token_text(fim.repo), "<|repo_name|>");
  EXPECT_EQ(tok->token_text(fim.file_sep), "<|file_sep|>");
  EXPECT_TRUE(tok->is_control(fim.prefix));
  EXPECT_FALSE(tok->is_eog(fim.middle));
}

TEST(SmolLM2Tokenizer, HasNoFimMarkers) {
  auto file = open_or_skip(toolgate::testing::default_model());
  if (!file) GTEST_SKIP() << "model not fetched";
  EXPECT_FALSE(Tokenizer::from_gguf(*file)->fim_tokens().usable());
}

TEST(QwenTokenizer, ToolCallTagsAreUserDefinedTokensAlwaysKeptWhole) {
  auto file = open_or_skip(toolgate::testing::tool_model());
  if (!file) GTEST_SKIP() << "model not fetched";
  auto tok = Tokenizer::from_gguf(*file);
  const int32_t open = tok->find_token("<tool_call>");
  ASSERT_GE(open, 0);
  // User-defined (not control) tokens are cut out even without parse_special, like HF does.
  const auto ids = tok->encode("x<tool_call>{}", false, false);
  EXPECT_NE(std::find(ids.begin(), ids.end(), open), ids.end());
  EXPECT_EQ(tok->token_to_piece(open), "<tool_call>");  // rendered without render_special
  EXPECT_FALSE(tok->is_control(open));
}

}  // namespace
}  // namespace toolgate::engine
