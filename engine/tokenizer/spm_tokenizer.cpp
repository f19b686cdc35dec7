#include "engine/tokenizer/spm_tokenizer.h"

#include <algorithm>
#include <cstdio>

#include "engine/tokenizer/unicode.h"

namespace toolgate::engine {
namespace {
constexpr std::string_view kSpace = "\xE2\x96\x81";  // U+2581 "▁"
}

SpmTokenizer::SpmTokenizer(Vocabulary vocab) : VocabTokenizer(std::move(vocab)) {
  for (int b = 0; b < 256; ++b) {
    char hex[8];
    std::snprintf(hex, sizeof hex, "<0x%02X>", b);
    int32_t id = vocab_.find(hex);
    if (id < 0) {
      const char c = static_cast<char>(b);
      id = vocab_.find(std::string_view(&c, 1));
    }
    byte_token_[b] = id;
  }
  cache_pieces();
}

void SpmTokenizer::push_byte(uint8_t byte, std::vector<int32_t>& out) const {
  if (byte_token_[byte] >= 0) {
    out.push_back(byte_token_[byte]);
  } else if (vocab_.unk >= 0) {
    out.push_back(vocab_.unk);  // (llama.cpp would throw here)
  }
}

void SpmTokenizer::encode_text(std::string_view fragment, bool after_special,
                               std::vector<int32_t>& out) const {
  std::string text;
  text.reserve(fragment.size() + 8);
  if (vocab_.add_space_prefix && after_special) text += kSpace;
  for (char c : fragment) {
    if (c == ' ') {
      text += kSpace;
    } else {
      text.push_back(c);
    }
  }
  if (text.empty()) return;

  struct Symbol {
    uint32_t offset, n;  // bytes of `text`; n == 0 once merged into its left neighbour
    int32_t prev, next;
  };
  struct Candidate {
    float score;
    int32_t left, right;
    uint32_t size;
  };
  // Highest score first; among equal scores the leftmost pair.
  auto later = [](const Candidate& a, const Candidate& b) {
    return a.score < b.score || (a.score == b.score && a.left > b.left);
  };

  std::vector<Symbol> syms;
  syms.reserve(text.size());
  for (size_t off = 0; off < text.size();) {
    const size_t len = std::min(unicode::utf8_sequence_length(static_cast<uint8_t>(text[off])),
                                text.size() - off);
    const int32_t idx = static_cast<int32_t>(syms.size());
    syms.push_back({static_cast<uint32_t>(off), static_cast<uint32_t>(len), idx - 1,
                    off + len == text.size() ? -1 : idx + 1});
    off += len;
  }

  std::vector<Candidate> heap;
  auto consider = [&](int32_t left, int32_t right) {
    if (left < 0 || right < 0) return;
    const std::string_view s(text.data() + syms[left].offset, syms[left].n + syms[right].n);
    const int32_t id = vocab_.find(s);
    if (id < 0) return;
    heap.push_back({vocab_.scores.empty() ? 0.0f : vocab_.scores[id], left, right,
                    static_cast<uint32_t>(s.size())});
    std::push_heap(heap.begin(), heap.end(), later);
  };
  for (int32_t i = 1; i < static_cast<int32_t>(syms.size()); ++i) consider(i - 1, i);

  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end(), later);
    const Candidate c = heap.back();
    heap.pop_back();
    Symbol& l = syms[c.left];
    Symbol& r = syms[c.right];
    // Stale when either side changed since (llama.cpp's test: the lengths no longer add up).
    if (l.n == 0 || r.n == 0 || l.n + r.n != c.size) continue;
    l.n += r.n;
    r.n = 0;
    l.next = r.next;
    if (r.next >= 0) syms[r.next].prev = c.left;
    consider(l.prev, c.left);
    consider(c.left, l.next);
  }

  for (int32_t i = 0; i >= 0; i = syms[i].next) {
    const std::string_view s(text.data() + syms[i].offset, syms[i].n);
    if (int32_t id = vocab_.find(s); id >= 0) {
      out.push_back(id);
    } else {
      for (char b : s) push_byte(static_cast<uint8_t>(b), out);
    }
  }
}

std::string SpmTokenizer::normal_piece(int32_t id) const {
  const std::string& text = vocab_.texts[id];
  if (vocab_.attrs[id] & kAttrByte) {
    if (text.size() == 6 && text.compare(0, 3, "<0x") == 0) {
      return std::string(1, static_cast<char>(std::stoi(text.substr(3, 2), nullptr, 16)));
    }
    return text;
  }
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    if (text.compare(i, kSpace.size(), kSpace) == 0) {
      out.push_back(' ');
      i += kSpace.size();
    } else {
      out.push_back(text[i++]);
    }
  }
  return out;
}

}  // namespace toolgate::engine
