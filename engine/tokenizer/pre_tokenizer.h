#pragma once
// Splits text into the words BPE merges never cross, as the regexes of each model family's
// tokenizer.json do (selected by GGUF tokenizer.ggml.pre). The regexes are hand-written matchers
// over code points and their Unicode categories; each family is a list of stages applied in turn,
// every stage splitting the pieces of the previous one (text a stage does not match stays a piece
// of its own), exactly as llama.cpp's unicode_regex_split composes them.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace toolgate::engine {

class PreTokenizer {
 public:
  // One regex of a family. `flags` holds unicode::flags() of each code point.
  // Appends the lengths (in code points) of the pieces [begin, end) splits into.
  using Stage = void (*)(const uint32_t* cpts, const uint16_t* flags, size_t begin, size_t end,
                         std::vector<uint32_t>& lengths);

  // Throws std::runtime_error for a pre-tokenizer name this build does not implement.
  static PreTokenizer for_name(std::string_view pre);
  // For tests: a pre-tokenizer made of explicit stages.
  explicit PreTokenizer(std::vector<Stage> stages) : stages_(std::move(stages)) {}

  // Splits code points into words; returns the length of each word in code points.
  void split(const std::vector<uint32_t>& cpts, const std::vector<uint16_t>& flags,
             std::vector<uint32_t>& lengths) const;
  // Convenience for tests: the words of a UTF-8 string, as UTF-8 strings.
  std::vector<std::string> split_words(std::string_view text) const;

 private:
  std::vector<Stage> stages_;
};

// The stages, named after the regex they implement (exposed for unit tests).
namespace pretok {
// 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)
void gpt2(const uint32_t*, const uint16_t*, size_t, size_t, std::vector<uint32_t>&);
// (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|
//   \s*[\r\n]+|\s+(?!\S)|\s+
void llama3(const uint32_t*, const uint16_t*, size_t, size_t, std::vector<uint32_t>&);
// Same as llama3 with \p{N} instead of \p{N}{1,3}.
void qwen2(const uint32_t*, const uint16_t*, size_t, size_t, std::vector<uint32_t>&);
// \p{N}
void each_number(const uint32_t*, const uint16_t*, size_t, size_t, std::vector<uint32_t>&);
// \p{N}+
void number_runs(const uint32_t*, const uint16_t*, size_t, size_t, std::vector<uint32_t>&);
// [0-9][0-9][0-9]
void ascii_digit_triples(const uint32_t*, const uint16_t*, size_t, size_t, std::vector<uint32_t>&);
// [\p{P}\$\+<=>\^~\|]+
void punctuation_runs(const uint32_t*, const uint16_t*, size_t, size_t, std::vector<uint32_t>&);
// [\p{P}\$\+<=>\^~\|`]+
void punctuation_runs_with_backtick(const uint32_t*, const uint16_t*, size_t, size_t,
                                    std::vector<uint32_t>&);
// [\r\n]
void each_newline(const uint32_t*, const uint16_t*, size_t, size_t, std::vector<uint32_t>&);
// \s?\p{L}+
void space_letter_runs(const uint32_t*, const uint16_t*, size_t, size_t, std::vector<uint32_t>&);
// \s?\p{P}+
void space_punctuation_runs(const uint32_t*, const uint16_t*, size_t, size_t,
                            std::vector<uint32_t>&);
// [一-龥ࠀ-一가-퟿]+
void cjk_runs(const uint32_t*, const uint16_t*, size_t, size_t, std::vector<uint32_t>&);
}  // namespace pretok

}  // namespace toolgate::engine
