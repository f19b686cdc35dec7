#include "engine/tokenizer/vocabulary.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <stdexcept>
#include <variant>

#include "engine/gguf.h"

namespace toolgate::engine {
namespace {

// GGUF tokenizer.ggml.token_type values.
enum GgufTokenType : int64_t {
  kTypeUndefined = 0, kTypeNormal = 1, kTypeUnknown = 2, kTypeControl = 3,
  kTypeUserDefined = 4, kTypeUnused = 5, kTypeByte = 6,
};

uint32_t attr_from_type(int64_t type) {
  switch (type) {
    case kTypeNormal: return kAttrNormal;
    case kTypeUnknown: return kAttrUnknown;
    case kTypeControl: return kAttrControl;
    case kTypeUserDefined: return kAttrUserDefined;
    case kTypeUnused: return kAttrUnused;
    case kTypeByte: return kAttrByte;
    default: return kAttrUndefined;
  }
}

// Tokens llama.cpp recognises by text (src/llama-vocab.cpp, "auto-detect special tokens").
constexpr std::array<std::string_view, 11> kEotTexts = {
    "<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|end_of_text|>",
    "<EOT>", "_<EOT>", "[EOT]", "<｜end▁of▁sentence｜>", "<end_of_utterance>"};
// FIM markers by text, as llama.cpp finds them when the GGUF names no id (Qwen2.5-Coder's GGUFs
// carry only the texts).
constexpr std::array<std::string_view, 8> kFimPreTexts = {
    "<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>", "<｜fim▁begin｜>", "<PRE>", "▁<PRE>",
    "<|code_prefix|>", "<|prefix|>"};
constexpr std::array<std::string_view, 8> kFimSufTexts = {
    "<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>", "<｜fim▁hole｜>", "<SUF>", "▁<SUF>",
    "<|code_suffix|>", "<|suffix|>"};
constexpr std::array<std::string_view, 8> kFimMidTexts = {
    "<|fim_middle|>", "<fim-middle>", "<fim_middle>", "<｜fim▁end｜>", "<MID>", "▁<MID>",
    "<|code_middle|>", "<|middle|>"};
constexpr std::array<std::string_view, 5> kFimPadTexts = {"<|fim_pad|>", "<fim-pad>", "<fim_pad>",
                                                          "<PAD>", "[PAD]"};
constexpr std::array<std::string_view, 5> kFimRepTexts = {"<|fim_repo|>", "<|repo_name|>",
                                                          "<fim-repo>", "<REPO>", "<reponame>"};
constexpr std::array<std::string_view, 1> kFimSepTexts = {"<|file_sep|>"};
constexpr std::array<std::string_view, 22> kEogTexts = {
    "<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<|flush|>", "<|calls|>",
    "<end_of_turn>", "<|endoftext|>", "</s>", "<|eom_id|>", "<EOT>", "_<EOT>", "[EOT]", "[EOS]",
    "<|end_of_text|>", "<end_of_utterance>", "<eos>", "<turn|>", "<|tool_response>",
    "<｜end▁of▁sentence｜>", "[e~["};

template <size_t N>
bool contains(const std::array<std::string_view, N>& list, std::string_view s) {
  return std::find(list.begin(), list.end(), s) != list.end();
}

std::string lowercase(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

void Vocabulary::finalize() {
  const int32_t n = n_tokens();
  if (attrs.size() < texts.size()) attrs.resize(texts.size(), kAttrNormal);

  for (int32_t i = 0; i < n; ++i) {
    if (texts[i].empty()) texts[i] = "[EMPTY_" + std::to_string(i) + "]";  // as llama.cpp
  }
  index.build(texts);  // a later duplicate wins, as in llama.cpp's token_to_id

  for (int32_t* id :
       {&bos, &eos, &eot, &eom, &unk, &pad, &fim_pre, &fim_suf, &fim_mid, &fim_pad, &fim_rep,
        &fim_sep}) {
    if (!valid(*id)) *id = -1;
  }

  // A token found by its text below is forced to be a control token (llama.cpp does the same and
  // warns: converters sometimes mark "<|im_end|>" as normal).
  auto detect = [&](int32_t& slot, const auto& texts_list) {
    if (slot >= 0) return;
    for (std::string_view t : texts_list) {
      if (int32_t id = find(t); id >= 0) {
        slot = id;
        attrs[id] |= kAttrControl;
        return;
      }
    }
  };
  detect(eot, kEotTexts);
  detect(eom, std::array<std::string_view, 1>{"<|eom_id|>"});
  detect(fim_pre, kFimPreTexts);
  detect(fim_suf, kFimSufTexts);
  detect(fim_mid, kFimMidTexts);
  detect(fim_pad, kFimPadTexts);
  detect(fim_rep, kFimRepTexts);
  detect(fim_sep, kFimSepTexts);

  for (int32_t i = 0; i < n; ++i) {
    if ((attrs[i] & kAttrControl) && texts[i].find("unused") != std::string::npos) {
      attrs[i] |= kAttrUnused;
    }
  }

  eog.assign(texts.size(), 0);
  for (int32_t id : {fim_pad, fim_rep, fim_sep, eos, eot, eom}) {
    if (id >= 0) eog[id] = 1;
  }
  for (std::string_view t : kEogTexts) {
    if (int32_t id = find(t); id >= 0) {
      eog[id] = 1;
      attrs[id] |= kAttrControl;
    }
  }
  // gpt-oss / solar-open: "<|end|>" ends a message, not the generation, when these exist.
  const int32_t end_id = find("<|end|>");
  const bool has_return = find("<|return|>") >= 0;
  const bool has_call = find("<|call|>") >= 0 || find("<|calls|>") >= 0;
  const bool has_flush = find("<|flush|>") >= 0;
  if (end_id >= 0 && ((has_return && has_call) || (has_call && has_flush))) {
    eog[end_id] = 0;
    attrs[end_id] = kAttrUserDefined;
  }
  // gemma4 / paddleocr: "</s>" is not an end of generation when "<|tool_response>" exists.
  if (const int32_t s_id = find("</s>"); s_id >= 0 && find("<|tool_response>") >= 0) {
    eog[s_id] = 0;
    attrs[s_id] = kAttrNormal;
  }

  special_tokens.clear();
  for (int32_t i = 0; i < n; ++i) {
    if (attrs[i] & (kAttrControl | kAttrUserDefined | kAttrUnknown)) special_tokens.push_back(i);
  }
  // Longest first so that "<|im_start|>" is cut out before any shorter special token inside it.
  std::stable_sort(special_tokens.begin(), special_tokens.end(), [&](int32_t a, int32_t b) {
    return texts[a].size() > texts[b].size();
  });
}

Vocabulary Vocabulary::from_gguf(const GgufFile& file) {
  Vocabulary v;
  const std::string model = file.get_string("tokenizer.ggml.model").value_or("");
  v.pre = file.get_string("tokenizer.ggml.pre").value_or("");

  if (model == "gpt2") {
    v.model = Model::kBpe;
    v.bos = 11;  // llama.cpp's defaults for "gpt2" vocabularies, overridden by the keys below
    v.eos = 11;
    const auto* merges = file.get_string_array("tokenizer.ggml.merges");
    if (!merges) throw std::runtime_error("tokenizer: BPE vocabulary without tokenizer.ggml.merges");
    v.merges = *merges;
    if (v.pre == "llama3" || v.pre == "llama-v3" || v.pre == "llama-bpe" || v.pre == "falcon3" ||
        v.pre == "pixtral") {
      v.ignore_merges = true;
      v.add_bos = true;
    }
  } else if (model == "llama") {
    v.model = Model::kSpm;
    v.bos = 1;
    v.eos = 2;
    v.unk = 0;
    v.add_bos = true;
    v.add_space_prefix = true;
  } else {
    throw std::runtime_error("tokenizer: unsupported tokenizer.ggml.model '" + model + "'");
  }
  if (auto b = file.get_bool("tokenizer.ggml.add_space_prefix")) v.add_space_prefix = *b;

  const auto* tokens = file.get_string_array("tokenizer.ggml.tokens");
  if (!tokens || tokens->empty()) throw std::runtime_error("tokenizer: no tokenizer.ggml.tokens");
  v.texts = *tokens;
  const size_t n = v.texts.size();

  if (const GgufArray* scores = file.get_array("tokenizer.ggml.scores")) {
    v.scores.resize(n, 0.0f);
    std::visit(
        [&](const auto& vals) {
          using Vec = std::decay_t<decltype(vals)>;
          if constexpr (!std::is_same_v<Vec, std::vector<std::string>>) {
            if (vals.size() < n) throw std::runtime_error("tokenizer: fewer scores than tokens");
            for (size_t i = 0; i < n; ++i) v.scores[i] = static_cast<float>(vals[i]);
          } else {
            throw std::runtime_error("tokenizer: tokenizer.ggml.scores is not numeric");
          }
        },
        scores->values);
  }
  v.attrs.assign(n, kAttrNormal);
  if (const GgufArray* types = file.get_array("tokenizer.ggml.token_type")) {
    const auto* vals = std::get_if<std::vector<int64_t>>(&types->values);
    if (!vals || vals->size() < n) {
      throw std::runtime_error("tokenizer: tokenizer.ggml.token_type is not an int array of n_vocab");
    }
    for (size_t i = 0; i < n; ++i) v.attrs[i] = attr_from_type((*vals)[i]);
  }

  auto read_id = [&](const char* key, int32_t& slot) {
    if (auto id = file.get_int(key)) {
      if (*id >= 0 && static_cast<size_t>(*id) < n) slot = static_cast<int32_t>(*id);
    }
  };
  read_id("tokenizer.ggml.bos_token_id", v.bos);
  read_id("tokenizer.ggml.eos_token_id", v.eos);
  read_id("tokenizer.ggml.eot_token_id", v.eot);
  read_id("tokenizer.ggml.eom_token_id", v.eom);
  read_id("tokenizer.ggml.unknown_token_id", v.unk);
  read_id("tokenizer.ggml.padding_token_id", v.pad);
  read_id("tokenizer.ggml.fim_pre_token_id", v.fim_pre);
  read_id("tokenizer.ggml.fim_suf_token_id", v.fim_suf);
  read_id("tokenizer.ggml.fim_mid_token_id", v.fim_mid);
  read_id("tokenizer.ggml.fim_pad_token_id", v.fim_pad);
  read_id("tokenizer.ggml.fim_rep_token_id", v.fim_rep);
  read_id("tokenizer.ggml.fim_sep_token_id", v.fim_sep);
  if (auto b = file.get_bool("tokenizer.ggml.add_bos_token")) v.add_bos = *b;
  if (auto b = file.get_bool("tokenizer.ggml.add_eos_token")) v.add_eos = *b;

  v.finalize();

  // Phi-3's special tokens swallow the whitespace that follows them (llama.cpp keys this on the
  // model name, as the attribute is not stored in GGUF).
  const std::string name = lowercase(file.get_string("general.name").value_or(""));
  if (name.find("phi-3") != std::string::npos || name.find("phi3") != std::string::npos) {
    for (int32_t id : v.special_tokens) v.attrs[id] |= kAttrRstrip;
    if (int32_t id = v.find("</s>"); id >= 0) v.attrs[id] |= kAttrRstrip;
    for (std::string_view t : {"<unk>", "<s>", "<|endoftext|>"}) {
      if (int32_t id = v.find(t); id >= 0) v.attrs[id] &= ~kAttrRstrip;
    }
  }
  return v;
}

}  // namespace toolgate::engine
