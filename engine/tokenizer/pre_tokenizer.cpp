#include "engine/tokenizer/pre_tokenizer.h"

#include <stdexcept>

#include "engine/tokenizer/unicode.h"

namespace toolgate::engine {

using namespace unicode;

namespace {

constexpr uint32_t kOutOfRange = 0xFFFFFFFF;
constexpr uint16_t kWordClass = kWhitespace | kLetter | kNumber;

// View of one piece [begin, end): positions outside read as "no code point" (flags 0), which is
// how the regex anchors ($, lookahead) see the edge of the piece.
struct Piece {
  const uint32_t* cpts;
  const uint16_t* fl;
  size_t begin, end;
  uint32_t cpt(size_t i) const { return i >= begin && i < end ? cpts[i] : kOutOfRange; }
  uint16_t flags(size_t i) const { return i >= begin && i < end ? fl[i] : 0; }
};

// Emits the words of a piece as a scanner advances through it.
struct Emitter {
  std::vector<uint32_t>& out;
  size_t prev_end;
  size_t take(size_t end) {
    const size_t n = end - prev_end;
    if (n > 0) out.push_back(static_cast<uint32_t>(n));
    prev_end = end;
    return n;
  }
};

bool is_r_or_n(uint32_t c) { return c == '\r' || c == '\n'; }
uint32_t ascii_lower(uint32_t c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }

// Length of an English contraction ('s 't 're 've 'm 'll 'd) at i, or 0. Only ASCII letters
// lowercase to these, so ASCII folding equals the (?i:...) of the reference regexes.
size_t contraction_at(const Piece& p, size_t i, bool ignore_case) {
  if (p.cpt(i) != '\'' || i + 1 >= p.end) return 0;
  auto fold = [&](uint32_t c) { return ignore_case ? ascii_lower(c) : c; };
  const uint32_t a = fold(p.cpt(i + 1));
  if (a == 's' || a == 't' || a == 'm' || a == 'd') return 2;
  if (i + 2 >= p.end) return 0;
  const uint32_t b = fold(p.cpt(i + 2));
  if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) return 3;
  return 0;
}

// Runs a "find the leftmost match, keep the gap before it as a piece" loop for a regex that
// never matches the empty string; match_at(i) is the length of the match starting at i or 0.
template <typename MatchAt>
void isolate_matches(const Piece& p, std::vector<uint32_t>& out, MatchAt match_at) {
  Emitter em{out, p.begin};
  size_t i = p.begin;
  while (i < p.end) {
    const size_t n = match_at(i);
    if (n == 0) {
      ++i;
      continue;
    }
    em.take(i);
    i += n;
    em.take(i);
  }
  em.take(p.end);
}

// llama3 / qwen2 share everything but the digit-group length.
void llama3_like(const Piece& p, std::vector<uint32_t>& out, size_t max_digits) {
  Emitter em{out, p.begin};
  size_t pos = p.begin;
  while (pos < p.end) {
    const uint32_t c = p.cpt(pos);
    const uint16_t f = p.flags(pos);

    if (size_t n = contraction_at(p, pos, /*ignore_case=*/true)) {
      pos += em.take(pos + n);
      continue;
    }
    // [^\r\n\p{L}\p{N}]?\p{L}+
    if (!(is_r_or_n(c) || (f & kNumber))) {
      if ((f & kLetter) || (p.flags(pos + 1) & kLetter)) {
        ++pos;
        while (p.flags(pos) & kLetter) ++pos;
        em.take(pos);
        continue;
      }
    }
    // \p{N}{1,max_digits}
    if (f & kNumber) {
      size_t group_start = pos;
      while (p.flags(pos) & kNumber) {
        if (++pos - group_start >= max_digits) {
          em.take(pos);
          group_start = pos;
        }
      }
      em.take(pos);
      continue;
    }
    // <space>?[^\s\p{L}\p{N}]+[\r\n]*
    const uint16_t f2 = c == ' ' ? p.flags(pos + 1) : f;
    if (!(f2 & kWordClass) && f) {
      pos += (c == ' ');
      while (p.flags(pos) && !(p.flags(pos) & kWordClass)) ++pos;
      while (is_r_or_n(p.cpt(pos))) ++pos;
      em.take(pos);
      continue;
    }
    size_t n_ws = 0;
    size_t last_newline_end = 0;
    while (p.flags(pos + n_ws) & kWhitespace) {
      if (is_r_or_n(p.cpt(pos + n_ws))) last_newline_end = pos + n_ws + 1;
      ++n_ws;
    }
    // \s*[\r\n]+
    if (last_newline_end > 0) {
      pos = last_newline_end;
      em.take(pos);
      continue;
    }
    // \s+(?!\S): leave the last space to prefix the next word
    if (n_ws > 1 && p.cpt(pos + n_ws) != kOutOfRange) {
      pos += n_ws - 1;
      em.take(pos);
      continue;
    }
    // \s+
    if (n_ws > 0) {
      pos += n_ws;
      em.take(pos);
      continue;
    }
    em.take(++pos);  // no alternative matches: the code point stands alone
  }
}

bool is_ascii_digit(uint32_t c) { return c >= '0' && c <= '9'; }

bool is_punct_or(const Piece& p, size_t i, std::string_view ascii_extra) {
  const uint32_t c = p.cpt(i);
  if (c == kOutOfRange) return false;
  if (c < 128) return (p.flags(i) & kPunctuation) || ascii_extra.find(static_cast<char>(c)) != std::string_view::npos;
  // Non-ASCII whitespace never counts as a category in the reference (it is collapsed to \v).
  return (p.flags(i) & kPunctuation) && !(p.flags(i) & kWhitespace);
}

}  // namespace

namespace pretok {

void gpt2(const uint32_t* cpts, const uint16_t* fl, size_t begin, size_t end,
          std::vector<uint32_t>& out) {
  const Piece p{cpts, fl, begin, end};
  Emitter em{out, begin};
  size_t pos = begin;
  while (pos < end) {
    const uint32_t c = p.cpt(pos);
    if (size_t n = contraction_at(p, pos, /*ignore_case=*/false)) {
      pos += em.take(pos + n);
      continue;
    }
    const uint16_t f2 = c == ' ' ? p.flags(pos + 1) : p.flags(pos);
    //  ?\p{L}+ |  ?\p{N}+ |  ?[^\s\p{L}\p{N}]+
    uint16_t run_class = 0;
    if (f2 & kLetter) {
      run_class = kLetter;
    } else if (f2 & kNumber) {
      run_class = kNumber;
    }
    if (run_class) {
      pos += (c == ' ');
      while (p.flags(pos) & run_class) ++pos;
      em.take(pos);
      continue;
    }
    if (!(f2 & kWordClass) && f2) {
      pos += (c == ' ');
      while (p.flags(pos) && !(p.flags(pos) & kWordClass)) ++pos;
      em.take(pos);
      continue;
    }
    size_t n_ws = 0;
    while (p.flags(pos + n_ws) & kWhitespace) ++n_ws;
    // \s+(?!\S)
    if (n_ws > 1 && p.cpt(pos + n_ws) != kOutOfRange) {
      pos += n_ws - 1;
      em.take(pos);
      continue;
    }
    if (n_ws > 0) {
      pos += n_ws;
      em.take(pos);
      continue;
    }
    em.take(++pos);
  }
}

void llama3(const uint32_t* cpts, const uint16_t* fl, size_t begin, size_t end,
            std::vector<uint32_t>& out) {
  llama3_like(Piece{cpts, fl, begin, end}, out, 3);
}

void qwen2(const uint32_t* cpts, const uint16_t* fl, size_t begin, size_t end,
           std::vector<uint32_t>& out) {
  llama3_like(Piece{cpts, fl, begin, end}, out, 1);
}

void each_number(const uint32_t* cpts, const uint16_t* fl, size_t begin, size_t end,
                 std::vector<uint32_t>& out) {
  const Piece p{cpts, fl, begin, end};
  isolate_matches(p, out, [&](size_t i) -> size_t { return (p.flags(i) & kNumber) ? 1 : 0; });
}

void number_runs(const uint32_t* cpts, const uint16_t* fl, size_t begin, size_t end,
                 std::vector<uint32_t>& out) {
  const Piece p{cpts, fl, begin, end};
  isolate_matches(p, out, [&](size_t i) -> size_t {
    size_t j = i;
    while (p.flags(j) & kNumber) ++j;
    return j - i;
  });
}

void ascii_digit_triples(const uint32_t* cpts, const uint16_t* fl, size_t begin, size_t end,
                         std::vector<uint32_t>& out) {
  const Piece p{cpts, fl, begin, end};
  isolate_matches(p, out, [&](size_t i) -> size_t {
    return is_ascii_digit(p.cpt(i)) && is_ascii_digit(p.cpt(i + 1)) && is_ascii_digit(p.cpt(i + 2))
               ? 3
               : 0;
  });
}

void punctuation_runs(const uint32_t* cpts, const uint16_t* fl, size_t begin, size_t end,
                      std::vector<uint32_t>& out) {
  const Piece p{cpts, fl, begin, end};
  isolate_matches(p, out, [&](size_t i) -> size_t {
    size_t j = i;
    while (is_punct_or(p, j, "$+<=>^~|")) ++j;
    return j - i;
  });
}

void punctuation_runs_with_backtick(const uint32_t* cpts, const uint16_t* fl, size_t begin,
                                    size_t end, std::vector<uint32_t>& out) {
  const Piece p{cpts, fl, begin, end};
  isolate_matches(p, out, [&](size_t i) -> size_t {
    size_t j = i;
    while (is_punct_or(p, j, "$+<=>^~|`")) ++j;
    return j - i;
  });
}

void each_newline(const uint32_t* cpts, const uint16_t* fl, size_t begin, size_t end,
                  std::vector<uint32_t>& out) {
  const Piece p{cpts, fl, begin, end};
  isolate_matches(p, out, [&](size_t i) -> size_t { return is_r_or_n(p.cpt(i)) ? 1 : 0; });
}

void space_letter_runs(const uint32_t* cpts, const uint16_t* fl, size_t begin, size_t end,
                       std::vector<uint32_t>& out) {
  const Piece p{cpts, fl, begin, end};
  isolate_matches(p, out, [&](size_t i) -> size_t {
    size_t j = i + ((p.flags(i) & kWhitespace) && (p.flags(i + 1) & kLetter) ? 1 : 0);
    const size_t start = j;
    while (p.flags(j) & kLetter) ++j;
    return j > start ? j - i : 0;
  });
}

void space_punctuation_runs(const uint32_t* cpts, const uint16_t* fl, size_t begin, size_t end,
                            std::vector<uint32_t>& out) {
  const Piece p{cpts, fl, begin, end};
  isolate_matches(p, out, [&](size_t i) -> size_t {
    size_t j = i + ((p.flags(i) & kWhitespace) && is_punct_or(p, i + 1, "") ? 1 : 0);
    const size_t start = j;
    while (is_punct_or(p, j, "")) ++j;
    return j > start ? j - i : 0;
  });
}

void cjk_runs(const uint32_t* cpts, const uint16_t* fl, size_t begin, size_t end,
              std::vector<uint32_t>& out) {
  const Piece p{cpts, fl, begin, end};
  // U+4E00-U+9FA5, U+0800-U+4E00, U+AC00-U+D7FF; the reference hides non-ASCII whitespace
  // (U+3000 ...) from this regex by replacing it with \v first.
  auto in_class = [&](size_t i) {
    const uint32_t c = p.cpt(i);
    if (c == kOutOfRange || (p.flags(i) & kWhitespace)) return false;
    return (c >= 0x0800 && c <= 0x9FA5) || (c >= 0xAC00 && c <= 0xD7FF);
  };
  isolate_matches(p, out, [&](size_t i) -> size_t {
    size_t j = i;
    while (in_class(j)) ++j;
    return j - i;
  });
}

}  // namespace pretok

PreTokenizer PreTokenizer::for_name(std::string_view pre) {
  using namespace pretok;
  if (pre == "gpt-2" || pre == "phi-2" || pre == "mpt" || pre == "olmo" || pre == "jais" ||
      pre == "exaone4" || pre == "roberta-bpe") {
    return PreTokenizer({gpt2});
  }
  if (pre == "llama3" || pre == "llama-v3" || pre == "llama-bpe" || pre == "falcon3" ||
      pre == "pixtral" || pre == "dbrx" || pre == "smaug-bpe" || pre == "chatglm-bpe" ||
      pre == "glm4") {
    return PreTokenizer({llama3});
  }
  if (pre == "qwen2" || pre == "deepseek-r1-qwen" || pre == "stablelm2" || pre == "megrez" ||
      pre == "hunyuan") {
    return PreTokenizer({qwen2});
  }
  if (pre == "starcoder" || pre == "refact" || pre == "smollm" || pre == "command-r" ||
      pre == "codeshell" || pre == "exaone" || pre == "minerva-7b") {
    return PreTokenizer({each_number, gpt2});
  }
  if (pre == "falcon") {
    return PreTokenizer({punctuation_runs_with_backtick, gpt2, ascii_digit_triples});
  }
  if (pre == "deepseek-coder") {
    return PreTokenizer({each_newline, space_letter_runs, space_punctuation_runs, cjk_runs,
                         each_number});
  }
  if (pre.empty() || pre == "default") {
    return PreTokenizer({punctuation_runs, gpt2, number_runs, ascii_digit_triples});
  }
  throw std::runtime_error("tokenizer: unsupported pre-tokenizer '" + std::string(pre) + "'");
}

void PreTokenizer::split(const std::vector<uint32_t>& cpts, const std::vector<uint16_t>& flags,
                         std::vector<uint32_t>& lengths) const {
  lengths.clear();
  if (cpts.empty()) return;
  lengths.push_back(static_cast<uint32_t>(cpts.size()));
  std::vector<uint32_t> next;
  for (Stage stage : stages_) {
    next.clear();
    next.reserve(lengths.size() * 2);
    size_t start = 0;
    for (uint32_t len : lengths) {
      stage(cpts.data(), flags.data(), start, start + len, next);
      start += len;
    }
    lengths.swap(next);
  }
}

std::vector<std::string> PreTokenizer::split_words(std::string_view text) const {
  std::vector<uint32_t> cpts;
  unicode::decode_utf8(text, cpts);
  std::vector<uint16_t> fl(cpts.size());
  for (size_t i = 0; i < cpts.size(); ++i) fl[i] = unicode::flags(cpts[i]);
  std::vector<uint32_t> lengths;
  split(cpts, fl, lengths);
  std::vector<std::string> words;
  size_t start = 0;
  for (uint32_t len : lengths) {
    std::string w;
    for (size_t i = start; i < start + len; ++i) unicode::append_utf8(cpts[i], w);
    words.push_back(std::move(w));
    start += len;
  }
  return words;
}

}  // namespace toolgate::engine
