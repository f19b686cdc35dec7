// Bit-exactness against llama.cpp's tokenizer test vectors (testdata/vocab/ggml-vocab-*.gguf with
// .inp/.out): every input, tokenized without BOS/EOS and without special-token parsing, must give
// exactly the reference ids.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "engine/gguf.h"
#include "engine/tokenizer.h"
#include "test_paths.h"

namespace toolgate::engine {
namespace {

struct VectorCase {
  std::string input;
  std::vector<int32_t> expected;
};

std::string read_all(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Format of llama.cpp tests/test-tokenizer-0.cpp: inputs separated by "\n__ggml_vocab_test__\n",
// one line of space-separated ids per input.
std::vector<VectorCase> read_vectors(const std::filesystem::path& vocab) {
  const std::string raw = read_all(vocab.string() + ".inp");
  const std::string sep = "\n__ggml_vocab_test__\n";
  std::vector<std::string> inputs;
  for (size_t pos = 0; pos < raw.size();) {
    const size_t next = raw.find(sep, pos);
    if (next == std::string::npos) {
      inputs.push_back(raw.substr(pos));
      break;
    }
    inputs.push_back(raw.substr(pos, next - pos));
    pos = next + sep.size();
  }
  std::ifstream out(vocab.string() + ".out");
  std::vector<VectorCase> cases;
  std::string line;
  for (size_t i = 0; std::getline(out, line); ++i) {
    VectorCase c;
    if (i < inputs.size()) c.input = inputs[i];
    std::istringstream ls(line);
    for (int32_t id; ls >> id;) c.expected.push_back(id);
    cases.push_back(std::move(c));
  }
  EXPECT_EQ(inputs.size(), cases.size()) << vocab;
  return cases;
}

class TokenizerVectors : public ::testing::TestWithParam<std::string> {};

TEST_P(TokenizerVectors, EveryReferenceInputTokenizesToTheReferenceIds) {
  const auto path = toolgate::testing::testdata_dir() / "vocab" / ("ggml-vocab-" + GetParam() + ".gguf");
  if (!std::filesystem::exists(path)) GTEST_SKIP() << "missing " << path;
  auto file = GgufFile::open(path);
  auto tok = Tokenizer::from_gguf(*file);
  const auto cases = read_vectors(path);
  ASSERT_FALSE(cases.empty());
  size_t passed = 0;
  for (const auto& c : cases) {
    const auto got = tok->encode(c.input, /*add_special=*/false, /*parse_special=*/false);
    EXPECT_EQ(got, c.expected) << "input: '" << c.input << "'";
    passed += got == c.expected;
  }
  std::printf("[ vectors  ] %s: %zu/%zu match\n", GetParam().c_str(), passed, cases.size());
}

INSTANTIATE_TEST_SUITE_P(Vocabularies, TokenizerVectors,
                         ::testing::Values("gpt-2", "llama-bpe", "qwen2", "starcoder", "llama-spm",
                                           "refact", "falcon", "deepseek-coder", "phi-3"),
                         [](const auto& info) {
                           std::string n = info.param;
                           for (char& ch : n) {
                             if (ch == '-') ch = '_';
                           }
                           return n;
                         });

}  // namespace
}  // namespace toolgate::engine
