#pragma once
// GPT-2 style byte-level BPE (tokenizer.ggml.model = "gpt2"): the pre-tokenizer splits text into
// words, each word's bytes start as one symbol per byte and the lowest-ranked adjacent pair is
// merged until no merge rule applies (Sennrich et al.; GPT-2's byte-to-unicode mapping).
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "engine/tokenizer/flat_tables.h"
#include "engine/tokenizer/pre_tokenizer.h"
#include "engine/tokenizer/vocab_tokenizer.h"

namespace toolgate::engine {

class BpeTokenizer final : public VocabTokenizer {
 public:
  // Throws std::runtime_error for an unsupported pre-tokenizer.
  explicit BpeTokenizer(Vocabulary vocab);
  BpeTokenizer(Vocabulary vocab, PreTokenizer pre);

 protected:
  void encode_text(std::string_view text, bool after_special,
                   std::vector<int32_t>& out) const override;
  std::string normal_piece(int32_t id) const override;

 private:
  void build_merges();
  // Symbols are vocabulary ids; strings that appear in merge rules but not in the vocabulary get
  // ids from n_vocab upwards, so a merge is a lookup on a pair of integers.
  int32_t symbol_id(std::string_view text);
  const std::string& symbol_text(int32_t sym) const;
  struct Scratch;  // per-call buffers reused across words
  void merge_word(std::string_view bytes, Scratch& scratch, std::vector<int32_t>& out) const;
  static constexpr int32_t kShortWord = 24;  // words up to this many bytes skip the heap
  void merge_short_word(std::string_view bytes, std::vector<int32_t>& out) const;
  void emit_symbol(int32_t symbol, std::vector<int32_t>& out) const;

  PreTokenizer pre_;
  MergeTable merges_;
  std::vector<std::string> extra_symbols_;  // texts of symbol ids >= n_vocab
  std::unordered_map<std::string, int32_t> extra_ids_;
  int32_t byte_symbol_[256];  // symbol of each raw byte (its byte-level character)
};

}  // namespace toolgate::engine
