#pragma once
// The vocabulary a tokenizer works from, as plain data: token texts, scores and attributes,
// special ids and flags. from_gguf() reads tokenizer.ggml.* and applies llama.cpp's defaults and
// text-based fix-ups (EOG tokens, control-looking tokens), so behaviour matches it token for token.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "engine/tokenizer/flat_tables.h"

namespace toolgate::engine {

class GgufFile;

// Per-token attributes (llama.cpp's llama_token_attr bit values).
enum TokenAttr : uint32_t {
  kAttrUndefined = 0,
  kAttrUnknown = 1u << 0,
  kAttrUnused = 1u << 1,
  kAttrNormal = 1u << 2,
  kAttrControl = 1u << 3,
  kAttrUserDefined = 1u << 4,
  kAttrByte = 1u << 5,
  kAttrNormalized = 1u << 6,
  kAttrLstrip = 1u << 7,
  kAttrRstrip = 1u << 8,
};

struct Vocabulary {
  enum class Model { kBpe, kSpm };

  Model model = Model::kBpe;
  std::string pre;  // tokenizer.ggml.pre ("" when absent)

  std::vector<std::string> texts;  // id -> text as stored (byte-level BPE: "Ġhello")
  std::vector<float> scores;       // SPM merge priorities (empty for BPE)
  std::vector<uint32_t> attrs;     // TokenAttr bits
  std::vector<std::string> merges;  // BPE merge rules "left right", rank = index

  int32_t bos = -1, eos = -1, eot = -1, eom = -1, unk = -1, pad = -1;
  int32_t fim_pre = -1, fim_suf = -1, fim_mid = -1;  // fill-in-the-middle markers
  int32_t fim_pad = -1, fim_rep = -1, fim_sep = -1;
  bool add_bos = false;
  bool add_eos = false;
  bool add_space_prefix = false;  // SPM: prepend " " to text that starts a fragment
  bool ignore_merges = false;     // BPE (llama3): a word that is a token is emitted whole

  // Derived by finalize().
  TokenIndex index;                     // text -> id
  std::vector<int32_t> special_tokens;  // control/user-defined/unknown ids, longest text first
  std::vector<uint8_t> eog;             // 1 for end-of-generation tokens

  // Reads tokenizer.ggml.* (throws std::runtime_error on a missing or unsupported vocabulary).
  static Vocabulary from_gguf(const GgufFile& file);

  // Builds the lookup map, detects EOT/EOM/FIM tokens by text, the EOG set and the special-token
  // list. Call once after filling the fields above (from_gguf does).
  void finalize();

  int32_t n_tokens() const { return static_cast<int32_t>(texts.size()); }
  int32_t find(std::string_view text) const { return index.find(texts, text); }
  bool valid(int32_t id) const { return id >= 0 && id < n_tokens(); }
};

}  // namespace toolgate::engine
