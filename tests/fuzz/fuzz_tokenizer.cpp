// Tokenizer encode/decode on arbitrary bytes, with the vocabularies of both shipped model
// families (SmolLM2: gpt2/smollm; Qwen2.5-Coder: gpt2/qwen2), each loaded once.
// Options byte: bit 0 picks the vocabulary, bit 1 parse_special, bit 2 add_special.
// Checks: every id is in the vocabulary; valid UTF-8 text survives decode(encode(text)) byte for
// byte (byte-level BPE is lossless where the text is valid UTF-8); decoding arbitrary ids
// through the streaming UTF-8 decoder yields valid UTF-8.
#include <cstring>

#include "engine/gguf.h"
#include "engine/tokenizer.h"
#include "fuzz_input.h"
#include "test_paths.h"

using namespace toolgate;
using engine::Tokenizer;

namespace {

// GPT-2's byte-level alphabet: the character standing for byte b in vocabulary texts.
std::string byte_symbol(uint8_t b) {
  auto printable = [](int c) { return (c >= '!' && c <= '~') || (c >= 0xA1 && c <= 0xAC) || (c >= 0xAE && c <= 0xFF); };
  uint32_t cp = b;
  if (!printable(b)) {
    cp = 256;
    for (int c = 0; c < b; ++c) cp += printable(c) ? 0 : 1;
  }
  std::string out;  // cp < 0x800: one or two UTF-8 bytes
  if (cp < 0x80) out += static_cast<char>(cp);
  else out += {static_cast<char>(0xC0 | (cp >> 6)), static_cast<char>(0x80 | (cp & 0x3F))};
  return out;
}

struct Vocabulary {
  std::unique_ptr<engine::GgufFile> file;
  std::unique_ptr<Tokenizer> tokenizer;
  // Not every vocabulary has a token for every byte (SmolLM2 lacks 0x04, 0x06, 0x13, 0x14, 0x16,
  // 0x1D, 0xC0, 0xC1, 0xF1-0xFF): such bytes are dropped, as llama.cpp drops them, so
  // decode(encode(text)) == text only holds for texts without them.
  bool byte_has_token[256] = {};
  bool has_every_byte(std::string_view text) const {
    for (char c : text)
      if (!byte_has_token[static_cast<uint8_t>(c)]) return false;
    return true;
  }
};

Vocabulary load(const std::filesystem::path& model) {
  if (model.empty()) {
    std::fprintf(stderr, "fuzz_tokenizer: models/ lacks the shipped models (scripts/fetch-models)\n");
    std::exit(1);
  }
  Vocabulary v;
  v.file = engine::GgufFile::open(model);
  v.tokenizer = Tokenizer::from_gguf(*v.file);
  for (int b = 0; b < 256; ++b) v.byte_has_token[b] = v.tokenizer->find_token(byte_symbol(b)) >= 0;
  return v;
}

bool valid_utf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    auto b = static_cast<uint8_t>(s[i]);
    size_t n = b < 0x80 ? 1 : (b & 0xE0) == 0xC0 ? 2 : (b & 0xF0) == 0xE0 ? 3 : (b & 0xF8) == 0xF0 ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    uint32_t cp = n == 1 ? b : b & (0x7F >> n);
    for (size_t k = 1; k < n; ++k) {
      auto c = static_cast<uint8_t>(s[i + k]);
      if ((c & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (c & 0x3F);
    }
    // Overlong forms, surrogates and code points past U+10FFFF are not valid UTF-8.
    if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
        (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
      return false;
    i += n;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Vocabulary vocabularies[2] = {load(testing::default_model()), load(testing::tool_model())};
  if (size == 0) return 0;
  const Vocabulary& vocabulary = vocabularies[data[0] & 1];
  const Tokenizer& tok = *vocabulary.tokenizer;
  const bool parse_special = data[0] & 2, add_special = data[0] & 4;
  std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);

  std::vector<int32_t> ids = tok.encode(text, add_special, parse_special);
  for (int32_t id : ids)
    if (id < 0 || id >= tok.n_vocab()) fuzz::invariant_failed("encode returned an id outside the vocabulary");
  std::string decoded = tok.decode(ids, parse_special);
  if (!add_special && valid_utf8(text) && vocabulary.has_every_byte(text) && decoded != text)
    fuzz::invariant_failed("decode(encode(text)) differs from valid UTF-8 text");

  // The same bytes read as token ids, decoded piece by piece as a stream is.
  std::vector<int32_t> raw(text.size() / 4);
  if (!raw.empty()) std::memcpy(raw.data(), text.data(), raw.size() * 4);
  engine::Utf8StreamDecoder stream;
  std::string streamed;
  for (int32_t id : raw) {
    int32_t in_vocab = static_cast<int32_t>(static_cast<uint32_t>(id) % static_cast<uint32_t>(tok.n_vocab()));
    (void)tok.token_text(in_vocab);
    (void)tok.is_eog(in_vocab);
    streamed += stream.push(tok.token_to_piece(in_vocab, parse_special));
  }
  streamed += stream.flush();
  if (!valid_utf8(streamed)) fuzz::invariant_failed("the stream decoder emitted invalid UTF-8");
  return 0;
}
