#pragma once
// SentencePiece BPE as llama.cpp runs it (tokenizer.ggml.model = "llama"): spaces become "▁",
// a space is prefixed to text that starts the input or follows a special token, symbols start as
// single UTF-8 characters and the adjacent pair whose concatenation is the highest-scoring token
// is merged first. Characters no token covers fall back to <0xNN> byte tokens.
#include "engine/tokenizer/vocab_tokenizer.h"

namespace toolgate::engine {

class SpmTokenizer final : public VocabTokenizer {
 public:
  explicit SpmTokenizer(Vocabulary vocab);

 protected:
  void encode_text(std::string_view text, bool after_special,
                   std::vector<int32_t>& out) const override;
  std::string normal_piece(int32_t id) const override;

 private:
  void push_byte(uint8_t byte, std::vector<int32_t>& out) const;
  int32_t byte_token_[256];  // <0xNN> (or the one-character token) per byte, -1 if none
};

}  // namespace toolgate::engine
