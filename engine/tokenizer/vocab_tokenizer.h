#pragma once
// What every vocabulary-driven tokenizer shares: special-token partitioning of the input,
// BOS/EOS, id/text lookups, EOG. Subclasses only turn a plain-text fragment into ids and a
// normal token into its bytes.
#include <string>
#include <string_view>
#include <vector>

#include "engine/tokenizer.h"
#include "engine/tokenizer/vocabulary.h"

namespace toolgate::engine {

class VocabTokenizer : public Tokenizer {
 public:
  explicit VocabTokenizer(Vocabulary vocab) : vocab_(std::move(vocab)) {}

  std::vector<int32_t> encode(std::string_view text, bool add_special,
                              bool parse_special) const override;
  std::string token_to_piece(int32_t id, bool render_special = false) const override;

  int32_t n_vocab() const override { return vocab_.n_tokens(); }
  int32_t bos_id() const override { return vocab_.bos; }
  int32_t eos_id() const override { return vocab_.eos; }
  bool is_eog(int32_t id) const override { return vocab_.valid(id) && vocab_.eog[id]; }
  bool is_control(int32_t id) const override {
    return vocab_.valid(id) && (vocab_.attrs[id] & kAttrControl);
  }
  const std::string& token_text(int32_t id) const override;
  int32_t find_token(std::string_view text) const override { return vocab_.find(text); }
  bool adds_space_prefix() const override { return vocab_.add_space_prefix; }
  FimTokens fim_tokens() const override {
    return {vocab_.fim_pre, vocab_.fim_suf, vocab_.fim_mid,
            vocab_.fim_pad, vocab_.fim_rep, vocab_.fim_sep};
  }

  const Vocabulary& vocabulary() const { return vocab_; }

  // A piece of the input after special-token partitioning: either text or one token.
  struct Fragment {
    int32_t token;  // -1 for text
    size_t offset, length;
  };
  // Cuts special tokens out of `text` as llama.cpp does: for each special token, longest first,
  // every occurrence in the remaining text fragments becomes a token fragment. Without
  // parse_special only user-defined tokens are cut out (control/unknown stay plain text).
  std::vector<Fragment> partition(std::string_view text, bool parse_special) const;

 protected:
  // Appends the ids of a plain-text fragment. `after_special` is true at the start of the input
  // and after a special token (SPM uses it for the space prefix).
  virtual void encode_text(std::string_view text, bool after_special,
                           std::vector<int32_t>& out) const = 0;
  // Bytes of a normal (or byte) token.
  virtual std::string normal_piece(int32_t id) const = 0;
  // Precomputes every normal/byte token's piece (decoding is then a copy); subclasses call this
  // at the end of their constructor, once normal_piece() works.
  void cache_pieces();

  Vocabulary vocab_;
  std::vector<std::string> pieces_;  // normal_piece() per id, empty for other token kinds
};

}  // namespace toolgate::engine
