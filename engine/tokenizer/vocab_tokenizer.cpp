#include "engine/tokenizer/vocab_tokenizer.h"

#include <stdexcept>

namespace toolgate::engine {
namespace {
bool is_ascii_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}
}  // namespace

std::vector<VocabTokenizer::Fragment> VocabTokenizer::partition(std::string_view text,
                                                                bool parse_special) const {
  std::vector<Fragment> frags;
  if (text.empty()) return frags;
  frags.push_back({-1, 0, text.size()});
  std::vector<Fragment> next;
  for (int32_t id : vocab_.special_tokens) {
    const uint32_t attr = vocab_.attrs[id];
    if (!parse_special && (attr & (kAttrControl | kAttrUnknown))) continue;
    const std::string& tok = vocab_.texts[id];
    // Fragments are substrings of `text`: a token absent from it is absent from all of them.
    if (text.find(tok) == std::string_view::npos) continue;
    next.clear();
    for (const Fragment& f : frags) {
      if (f.token >= 0) {
        next.push_back(f);
        continue;
      }
      const size_t end = f.offset + f.length;
      const std::string_view window = text.substr(0, end);
      size_t cur = f.offset;
      while (true) {
        const size_t m = window.find(tok, cur);
        if (m == std::string_view::npos) {
          if (cur < end) next.push_back({-1, cur, end - cur});
          break;
        }
        size_t left_len = m - cur;
        if (attr & kAttrLstrip) {
          while (left_len > 0 && is_ascii_space(text[cur + left_len - 1])) --left_len;
        }
        if (left_len > 0) next.push_back({-1, cur, left_len});
        next.push_back({id, m, tok.size()});
        cur = m + tok.size();
        if (attr & kAttrRstrip) {
          while (cur < end && is_ascii_space(text[cur])) ++cur;
        }
      }
    }
    frags.swap(next);
  }
  return frags;
}

std::vector<int32_t> VocabTokenizer::encode(std::string_view text, bool add_special,
                                            bool parse_special) const {
  std::vector<int32_t> out;
  out.reserve(text.size() / 3 + 4);
  if (add_special && vocab_.add_bos && vocab_.bos >= 0) out.push_back(vocab_.bos);
  bool after_special = true;
  for (const Fragment& f : partition(text, parse_special)) {
    if (f.token >= 0) {
      out.push_back(f.token);
      after_special = true;
    } else {
      encode_text(text.substr(f.offset, f.length), after_special, out);
      after_special = false;
    }
  }
  if (add_special && vocab_.add_eos && vocab_.eos >= 0) out.push_back(vocab_.eos);
  return out;
}

std::string VocabTokenizer::token_to_piece(int32_t id, bool render_special) const {
  if (!vocab_.valid(id)) return {};
  const uint32_t attr = vocab_.attrs[id];
  if (attr & (kAttrControl | kAttrUnknown)) return render_special ? vocab_.texts[id] : std::string();
  if (attr & kAttrUserDefined) return vocab_.texts[id];
  if (attr & (kAttrNormal | kAttrByte)) {
    return static_cast<size_t>(id) < pieces_.size() ? pieces_[id] : normal_piece(id);
  }
  return {};  // unused/undefined tokens render as nothing, as in llama.cpp
}

void VocabTokenizer::cache_pieces() {
  pieces_.assign(vocab_.texts.size(), std::string());
  for (int32_t id = 0; id < vocab_.n_tokens(); ++id) {
    if (vocab_.attrs[id] & (kAttrNormal | kAttrByte)) pieces_[id] = normal_piece(id);
  }
}

const std::string& VocabTokenizer::token_text(int32_t id) const {
  if (!vocab_.valid(id)) throw std::out_of_range("tokenizer: token id out of range");
  return vocab_.texts[id];
}

}  // namespace toolgate::engine
