#pragma once
// Tokenizer driven by GGUF metadata (tokenizer.ggml.*): GPT-2 style byte-level BPE with the
// pre-tokenizer named by tokenizer.ggml.pre, and SentencePiece ("llama") vocabularies.
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace toolgate::engine {

class GgufFile;

// Fill-in-the-middle markers of a code model (-1 where the vocabulary has none): GGUF
// tokenizer.ggml.fim_*_token_id, or found by text as llama.cpp does (Qwen's "<|fim_prefix|>").
struct FimTokens {
  int32_t prefix = -1, suffix = -1, middle = -1;
  int32_t pad = -1, repo = -1, file_sep = -1;  // also end-of-generation tokens
  bool usable() const { return prefix >= 0 && suffix >= 0 && middle >= 0; }
};

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;
  // Builds the tokenizer a model file describes; throws std::runtime_error naming the
  // unsupported model/pre-tokenizer otherwise.
  static std::unique_ptr<Tokenizer> from_gguf(const GgufFile& file);

  // add_special: prepend BOS (and append EOS) when the vocabulary asks for it
  //   (tokenizer.ggml.add_bos_token / add_eos_token, with llama.cpp's defaults per model type).
  // parse_special: text like "<|im_start|>" becomes the control token instead of plain text.
  virtual std::vector<int32_t> encode(std::string_view text, bool add_special,
                                      bool parse_special) const = 0;
  // Raw bytes of one token (byte-level BPE mapped back to bytes, SPM "▁" to space, <0xNN> to
  // the byte). Control tokens render as their text only when render_special is true.
  virtual std::string token_to_piece(int32_t id, bool render_special = false) const = 0;
  // Concatenated pieces. For vocabularies that add a space prefix (SentencePiece), the space
  // the encoder put in front of the text is removed from the first piece (after a leading BOS),
  // so decode(encode(x)) == x.
  std::string decode(std::span<const int32_t> ids, bool render_special = false) const;
  // True when encode() prepends a space to text (SPM add_space_prefix): a streaming consumer
  // should drop the leading space of the first generated piece of such a vocabulary.
  virtual bool adds_space_prefix() const { return false; }

  virtual int32_t n_vocab() const = 0;
  virtual int32_t bos_id() const = 0;  // -1 if none
  virtual int32_t eos_id() const = 0;  // -1 if none
  // End-of-generation tokens: eos, eot, <|im_end|>, <|eot_id|>, <|endoftext|> ... as llama.cpp
  // derives them from the vocabulary.
  virtual bool is_eog(int32_t id) const = 0;
  virtual bool is_control(int32_t id) const = 0;
  // Text of a token as stored in the vocabulary (for special tokens: "<|im_end|>").
  virtual const std::string& token_text(int32_t id) const = 0;
  // Id of a token whose vocabulary text is exactly `text`, or -1.
  virtual int32_t find_token(std::string_view text) const = 0;
  virtual FimTokens fim_tokens() const { return {}; }
};

// Joins token pieces into text without ever emitting half a UTF-8 character: incomplete trailing
// sequences are held until the bytes that complete them arrive. Invalid bytes become U+FFFD.
class Utf8StreamDecoder {
 public:
  // Appends bytes; returns the longest complete-character prefix not yet returned.
  std::string push(std::string_view bytes);
  // Returns whatever is held (invalid remainder as U+FFFD); call at end of stream.
  std::string flush();

 private:
  std::string pending_;
};

}  // namespace toolgate::engine
