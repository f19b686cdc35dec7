// Tokenizer pieces that need no model file: Unicode categories, pre-tokenizer regex semantics,
// BPE merge order on a hand-made vocabulary, special-token partitioning, streaming UTF-8.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <set>

#include "engine/tokenizer.h"
#include "engine/tokenizer/bpe_tokenizer.h"
#include "engine/tokenizer/pre_tokenizer.h"
#include "engine/tokenizer/spm_tokenizer.h"
#include "engine/tokenizer/unicode.h"
#include "engine/tokenizer/vocabulary.h"

namespace toolgate::engine {
namespace {

using Words = std::vector<std::string>;

TEST(UnicodeFlags, CategoriesOfRepresentativeCodepoints) {
  using namespace unicode;
  EXPECT_TRUE(flags('a') & kLetter);
  EXPECT_TRUE(flags(0x4E2D) & kLetter);   // 中
  EXPECT_TRUE(flags('7') & kNumber);
  EXPECT_TRUE(flags(0x0663) & kNumber);   // Arabic-Indic three
  EXPECT_TRUE(flags(0x00B2) & kNumber);   // superscript two
  EXPECT_TRUE(flags('!') & kPunctuation);
  EXPECT_TRUE(flags(0x3002) & kPunctuation);  // 。
  EXPECT_TRUE(flags('$') & kSymbol);
  EXPECT_TRUE(flags(0x1F999) & kSymbol);  // 🦙
  EXPECT_TRUE(flags(0x0301) & kMark);     // combining acute
  EXPECT_TRUE(flags(0x3000) & kWhitespace);
  EXPECT_TRUE(flags(0x85) & kWhitespace);
  EXPECT_FALSE(flags(0x200B) & kWhitespace);  // zero-width space is not White_Space
  EXPECT_EQ(flags(0x110000), 0);
}

TEST(Utf8Decoding, MalformedBytesBecomeOneReplacementEach) {
  std::vector<uint32_t> cpts;
  EXPECT_FALSE(unicode::decode_utf8("a\xFF\xC3", cpts));
  EXPECT_EQ(cpts, (std::vector<uint32_t>{'a', 0xFFFD, 0xFFFD}));
}

TEST(ByteLevelMap, IsABijectionOnBytesWithPrintableImages) {
  std::set<uint32_t> images;
  for (int b = 0; b < 256; ++b) {
    const uint32_t c = unicode::byte_to_codepoint(static_cast<uint8_t>(b));
    EXPECT_EQ(unicode::codepoint_to_byte(c), b);
    images.insert(c);
  }
  EXPECT_EQ(images.size(), 256u);
  EXPECT_EQ(unicode::byte_to_codepoint(' '), 0x120u);  // "Ġ"
  EXPECT_EQ(unicode::byte_to_codepoint('A'), 'A');
}

TEST(PreTokenizerGpt2, SpaceJoinsTheFollowingWordAndRunsOfSpacesKeepOneBack) {
  const auto pre = PreTokenizer::for_name("gpt-2");
  EXPECT_EQ(pre.split_words("Hello world"), (Words{"Hello", " world"}));
  EXPECT_EQ(pre.split_words("   Hello"), (Words{"  ", " Hello"}));
  EXPECT_EQ(pre.split_words("a  "), (Words{"a", "  "}));  // trailing run stays whole
  EXPECT_EQ(pre.split_words("x = 42!!"), (Words{"x", " =", " 42", "!!"}));
}

TEST(PreTokenizerGpt2, ContractionsAreCaseSensitive) {
  const auto pre = PreTokenizer::for_name("gpt-2");
  EXPECT_EQ(pre.split_words("I'm"), (Words{"I", "'m"}));
  EXPECT_EQ(pre.split_words("I'M"), (Words{"I", "'", "M"}));
}

TEST(PreTokenizerLlama3, DigitsGroupInThreesAndContractionsIgnoreCase) {
  const auto pre = PreTokenizer::for_name("llama-bpe");
  EXPECT_EQ(pre.split_words("1234567"), (Words{"123", "456", "7"}));
  EXPECT_EQ(pre.split_words("I'M"), (Words{"I", "'M"}));
  EXPECT_EQ(pre.split_words("(hello"), (Words{"(hello"}));  // one non-letter may lead a word
  EXPECT_EQ(pre.split_words("a.\n\nb"), (Words{"a", ".\n\n", "b"}));
  EXPECT_EQ(pre.split_words("x \n  y"), (Words{"x", " \n", " ", " y"}));
}

TEST(PreTokenizerQwen2, EveryDigitIsItsOwnWord) {
  const auto pre = PreTokenizer::for_name("qwen2");
  EXPECT_EQ(pre.split_words("x123"), (Words{"x", "1", "2", "3"}));
}

TEST(PreTokenizerStarcoder, DigitsAreIsolatedBeforeTheGpt2Regex) {
  const auto pre = PreTokenizer::for_name("smollm");
  EXPECT_EQ(pre.split_words("abc 123"), (Words{"abc", " ", "1", "2", "3"}));
}

TEST(PreTokenizer, UnknownNameIsAnErrorNamingIt) {
  try {
    (void)PreTokenizer::for_name("no-such-pre");
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("no-such-pre"), std::string::npos);
  }
}

// A byte-level vocabulary: the 256 byte characters plus merged tokens, merges in rank order.
Vocabulary tiny_bpe(const std::vector<std::string>& merges, const std::vector<std::string>& extra,
                    const std::vector<std::string>& control = {}) {
  Vocabulary v;
  v.model = Vocabulary::Model::kBpe;
  v.pre = "gpt-2";
  for (int b = 0; b < 256; ++b) {
    std::string s;
    unicode::append_utf8(unicode::byte_to_codepoint(static_cast<uint8_t>(b)), s);
    v.texts.push_back(s);
  }
  for (const auto& t : extra) v.texts.push_back(t);
  v.attrs.assign(v.texts.size(), kAttrNormal);
  for (const auto& t : control) {
    v.texts.push_back(t);
    v.attrs.push_back(kAttrControl);
  }
  v.merges = merges;
  v.eos = v.n_tokens() - 1;
  v.finalize();
  return v;
}

TEST(BpeTokenizer, LowerRankMergeWinsOverLeftmostPair) {
  // "abc": (b c) has rank 0, (a b) rank 1 -> "a" + "bc", not "ab" + "c".
  BpeTokenizer tok(tiny_bpe({"b c", "a b"}, {"bc", "ab"}));
  const auto ids = tok.encode("abc", false, false);
  ASSERT_EQ(ids.size(), 2u);
  EXPECT_EQ(tok.token_text(ids[0]), "a");
  EXPECT_EQ(tok.token_text(ids[1]), "bc");
}

TEST(BpeTokenizer, EqualRanksMergeLeftmostFirst) {
  // "aaa" with only (a a): leftmost pair merges, leaving "aa" + "a".
  BpeTokenizer tok(tiny_bpe({"a a"}, {"aa"}));
  const auto ids = tok.encode("aaa", false, false);
  ASSERT_EQ(ids.size(), 2u);
  EXPECT_EQ(tok.token_text(ids[0]), "aa");
  EXPECT_EQ(tok.token_text(ids[1]), "a");
}

TEST(BpeTokenizer, LongWordMergesAllTheWay) {
  // A 128 KiB word with no pre-tokenizer split: every byte pair merges up to the 8-byte token.
  // How the cost scales (n log n, not quadratic) is a figure of bench/tokenizer_bench
  // (long_word_16x_cost), not a timed unit test.
  BpeTokenizer tok(tiny_bpe({"a a", "aa aa", "aaaa aaaa"}, {"aa", "aaaa", "aaaaaaaa"}));
  for (size_t n : {8u, 8192u, 131072u}) {
    const auto ids = tok.encode(std::string(n, 'a'), false, false);
    ASSERT_EQ(ids.size(), n / 8) << n;
    EXPECT_EQ(tok.decode(ids), std::string(n, 'a'));
  }
}

TEST(BpeTokenizer, ControlTokenIsCutOutOnlyWhenParsingSpecials) {
  BpeTokenizer tok(tiny_bpe({}, {}, {"<|end|>", "<|end|>x"}));
  const int32_t end = tok.find_token("<|end|>");
  const int32_t endx = tok.find_token("<|end|>x");
  EXPECT_EQ(tok.encode("a<|end|>", false, true), (std::vector<int32_t>{'a', end}));
  EXPECT_EQ(tok.encode("<|end|>x", false, true), (std::vector<int32_t>{endx}));  // longest first
  EXPECT_EQ(tok.encode("a<|end|>", false, false).size(), 8u);  // plain bytes
  EXPECT_TRUE(tok.is_eog(end));  // "<|end|>" is an end-of-generation text in llama.cpp
}

TEST(BpeTokenizer, PieceOfByteLevelTokenIsRawBytes) {
  BpeTokenizer tok(tiny_bpe({"Ġ w"}, {"Ġw"}));
  EXPECT_EQ(tok.token_to_piece(tok.find_token("Ġw")), " w");
  const std::vector<int32_t> ids = tok.encode("é", false, false);  // two byte tokens
  ASSERT_EQ(ids.size(), 2u);
  EXPECT_EQ(tok.token_to_piece(ids[0]), "\xC3");
  EXPECT_EQ(tok.decode(ids), "é");
}

Vocabulary tiny_spm() {
  Vocabulary v;
  v.model = Vocabulary::Model::kSpm;
  v.add_space_prefix = true;
  v.add_bos = true;
  v.texts = {"<unk>", "<s>", "</s>", "▁", "h", "i", "▁h", "▁hi", "hi"};
  v.scores = {0, 0, 0, -1, -2, -2, -3, -1, -5};
  v.attrs = {kAttrUnknown, kAttrControl, kAttrControl, kAttrNormal, kAttrNormal,
             kAttrNormal,  kAttrNormal,  kAttrNormal,  kAttrNormal};
  for (int b = 0; b < 256; ++b) {
    char hex[8];
    std::snprintf(hex, sizeof hex, "<0x%02X>", b);
    v.texts.push_back(hex);
    v.scores.push_back(0);
    v.attrs.push_back(kAttrByte);
  }
  v.bos = 1;
  v.eos = 2;
  v.unk = 0;
  v.finalize();
  return v;
}

TEST(SpmTokenizer, PrefixesASpaceMergesByScoreAndFallsBackToBytes) {
  SpmTokenizer tok(tiny_spm());
  const int32_t hi = tok.find_token("▁hi");
  EXPECT_EQ(tok.encode("hi", true, false), (std::vector<int32_t>{1, hi}));
  const auto ids = tok.encode("hi!", false, false);
  ASSERT_EQ(ids.size(), 2u);
  EXPECT_EQ(ids[1], tok.find_token("<0x21>"));
  EXPECT_EQ(tok.decode(ids), "hi!");  // the prefix space is removed again
  EXPECT_EQ(tok.decode(tok.encode("hi", true, false)), "hi");
  EXPECT_TRUE(tok.adds_space_prefix());
}

TEST(Utf8StreamDecoder, HoldsAnIncompleteCharacterUntilItCompletes) {
  Utf8StreamDecoder dec;
  const std::string emoji = "\xF0\x9F\xA6\x99";  // 🦙
  EXPECT_EQ(dec.push("a" + emoji.substr(0, 1)), "a");
  EXPECT_EQ(dec.push(emoji.substr(1, 2)), "");
  EXPECT_EQ(dec.push(emoji.substr(3)), emoji);
  EXPECT_EQ(dec.flush(), "");
}

TEST(Utf8StreamDecoder, InvalidBytesBecomeReplacementCharacters) {
  Utf8StreamDecoder dec;
  const std::string fffd = "\xEF\xBF\xBD";
  EXPECT_EQ(dec.push("\xFF" "a"), fffd + "a");
  EXPECT_EQ(dec.push("\xC0\xAF"), fffd + fffd);  // overlong encodings are ill-formed
  EXPECT_EQ(dec.push("\xED\xA0\x80"), fffd + fffd + fffd);  // so are surrogates
  EXPECT_EQ(dec.push("\xE2\x82" "x"), fffd + "x");  // a truncated sequence is one U+FFFD
}

TEST(Utf8StreamDecoder, FlushReplacesAnUnfinishedCharacter) {
  Utf8StreamDecoder dec;
  EXPECT_EQ(dec.push("ok\xE4\xB8"), "ok");
  EXPECT_EQ(dec.flush(), "\xEF\xBF\xBD");
  EXPECT_EQ(dec.push("z"), "z");  // the decoder is reusable after a flush
}

}  // namespace
}  // namespace toolgate::engine
