#include "engine/constrained/regex_parser.h"

#include <algorithm>
#include <string>

#include "engine/constrained/regex.h"

namespace toolgate::engine::constrained {

namespace {

constexpr uint32_t kMaxCodePoint = 0x10FFFF;
constexpr uint32_t kSurrogateLo = 0xD800, kSurrogateHi = 0xDFFF;

const CodeSet& digit_set() {
  static const CodeSet s = {{'0', '9'}};
  return s;
}
const CodeSet& word_set() {
  static const CodeSet s = {{'0', '9'}, {'A', 'Z'}, {'_', '_'}, {'a', 'z'}};
  return s;
}
// ECMAScript WhiteSpace and LineTerminator (ES2024 22.2.2.9, CharacterClassEscape :: s).
const CodeSet& space_set() {
  static const CodeSet s = normalize_code_set({{0x09, 0x0D},
                                               {0x20, 0x20},
                                               {0xA0, 0xA0},
                                               {0x1680, 0x1680},
                                               {0x2000, 0x200A},
                                               {0x2028, 0x2029},
                                               {0x202F, 0x202F},
                                               {0x205F, 0x205F},
                                               {0x3000, 0x3000},
                                               {0xFEFF, 0xFEFF}});
  return s;
}
// '.' without the s flag: everything but the four line terminators.
const CodeSet& dot_set() {
  static const CodeSet s =
      complement_code_set(normalize_code_set({{0x0A, 0x0A}, {0x0D, 0x0D}, {0x2028, 0x2029}}));
  return s;
}

bool is_hex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
uint32_t hex_value(char c) {
  if (c >= '0' && c <= '9') return static_cast<uint32_t>(c - '0');
  if (c >= 'a' && c <= 'f') return static_cast<uint32_t>(c - 'a' + 10);
  return static_cast<uint32_t>(c - 'A' + 10);
}
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_syntax_char(char c) {
  return std::string_view("^$\\.*+?()[]{}|/").find(c) != std::string_view::npos;
}

// Recursive descent over the pattern; every function returns -1 (or false) after fail().
class Parser {
 public:
  Parser(std::string_view pattern, RegexAst& ast) : p_(pattern), ast_(ast) {}

  bool parse() {
    ast_.root = alternation(0, true);
    if (ast_.root < 0) return false;
    if (pos_ != p_.size()) return fail(pos_, "unmatched ')'");
    return true;
  }
  const std::string& error() const { return error_; }

 private:
  bool fail(size_t offset, const std::string& what) {
    if (error_.empty()) error_ = what + " at offset " + std::to_string(offset);
    return false;
  }
  bool at_end() const { return pos_ >= p_.size(); }
  bool peek(char c) const { return pos_ < p_.size() && p_[pos_] == c; }
  bool starts_with(std::string_view s) const { return p_.substr(pos_).starts_with(s); }

  int add(RegexNode node) {
    ast_.nodes.push_back(std::move(node));
    return static_cast<int>(ast_.nodes.size() - 1);
  }
  int add_set(size_t offset, CodeSet set) {
    RegexNode n;
    n.kind = RegexNode::Kind::Set;
    n.offset = static_cast<uint32_t>(offset);
    n.set = std::move(set);
    return add(std::move(n));
  }

  // `top`: an alternative of the whole pattern, where ^ may open and $ may close it.
  int alternation(int depth, bool top) {
    const size_t at = pos_;
    int first = sequence(depth, top);
    if (first < 0 || !peek('|')) return first;
    RegexNode alt;
    alt.kind = RegexNode::Kind::Alt;
    alt.offset = static_cast<uint32_t>(at);
    alt.children.push_back(first);
    while (peek('|')) {
      ++pos_;
      int next = sequence(depth, top);
      if (next < 0) return -1;
      alt.children.push_back(next);
    }
    return add(std::move(alt));
  }

  int sequence(int depth, bool top) {
    RegexNode seq;
    seq.kind = RegexNode::Kind::Concat;
    seq.offset = static_cast<uint32_t>(pos_);
    if (top && peek('^')) ++pos_;
    while (!at_end()) {
      const char c = p_[pos_];
      if (c == '|' || c == ')') break;
      if (c == '$') {
        if (top && (pos_ + 1 == p_.size() || p_[pos_ + 1] == '|')) {
          ++pos_;
          break;
        }
        fail(pos_, "'$' is only supported at the end of the pattern");
        return -1;
      }
      if (c == '^') {
        fail(pos_, "'^' is only supported at the start of the pattern");
        return -1;
      }
      const size_t at = pos_;
      int a = atom(depth);
      if (a >= 0) a = quantified(a, at);
      if (a < 0) return -1;
      seq.children.push_back(a);
    }
    if (seq.children.size() == 1) return seq.children[0];
    if (seq.children.empty()) seq.kind = RegexNode::Kind::Empty;
    return add(std::move(seq));
  }

  int atom(int depth) {
    const size_t at = pos_;
    switch (p_[pos_]) {
      case '(':
        return group(depth);
      case '[': {
        CodeSet set;
        if (!char_class(set)) return -1;
        return add_set(at, std::move(set));
      }
      case '.':
        ++pos_;
        return add_set(at, dot_set());
      case '\\': {
        uint32_t cp = 0;
        CodeSet set;
        bool is_set = false;
        if (!escape(false, cp, set, is_set)) return -1;
        return add_set(at, is_set ? std::move(set) : CodeSet{{cp, cp}});
      }
      case '*':
      case '+':
      case '?':
        fail(at, std::string("nothing to repeat before '") + p_[at] + "'");
        return -1;
      case '{':
        fail(at, "lone '{' (write \\{ for the character)");
        return -1;
      case '}':
        fail(at, "lone '}' (write \\} for the character)");
        return -1;
      case ']':
        fail(at, "lone ']' (write \\] for the character)");
        return -1;
      default: {
        uint32_t cp = 0;
        if (!code_point(cp)) return -1;
        return add_set(at, normalize_code_set({{cp, cp}}));
      }
    }
  }

  int group(int depth) {
    const size_t at = pos_;
    if (depth >= Regex::kMaxNesting) {
      fail(at, "groups nested deeper than " + std::to_string(Regex::kMaxNesting));
      return -1;
    }
    ++pos_;
    if (peek('?')) {
      if (starts_with("?:")) {
        pos_ += 2;
      } else if (starts_with("?=") || starts_with("?!")) {
        fail(at, "lookahead '(" + std::string(p_.substr(pos_, 2)) + "' is not supported");
        return -1;
      } else if (starts_with("?<=") || starts_with("?<!")) {
        fail(at, "lookbehind '(" + std::string(p_.substr(pos_, 3)) + "' is not supported");
        return -1;
      } else if (starts_with("?<")) {
        pos_ += 2;
        const size_t name_at = pos_;
        auto ident = [](char c, bool first) {
          return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' || c == '$' ||
                 (!first && is_digit(c));
        };
        while (!at_end() && ident(p_[pos_], pos_ == name_at)) ++pos_;
        if (pos_ == name_at || !peek('>')) {
          fail(at, "malformed group name in '(?<name>' (ASCII letters, digits, _ and $)");
          return -1;
        }
        ++pos_;
      } else {
        fail(at, "inline modifiers or unknown group '(?' are not supported");
        return -1;
      }
    }
    int inner = alternation(depth + 1, false);
    if (inner < 0) return -1;
    if (!peek(')')) {
      fail(at, "unclosed group '('");
      return -1;
    }
    ++pos_;
    return inner;
  }

  int quantified(int atom, size_t atom_at) {
    if (at_end()) return atom;
    uint32_t min = 0, max = 0;
    switch (p_[pos_]) {
      case '*':
        min = 0, max = RegexNode::kUnbounded, ++pos_;
        break;
      case '+':
        min = 1, max = RegexNode::kUnbounded, ++pos_;
        break;
      case '?':
        min = 0, max = 1, ++pos_;
        break;
      case '{':
        if (!braces(min, max)) return -1;
        break;
      default:
        return atom;
    }
    if (peek('?')) ++pos_;  // lazy: the same language
    if (!at_end() && std::string_view("*+?{").find(p_[pos_]) != std::string_view::npos) {
      fail(pos_, "nothing to repeat (a quantifier right after a quantifier)");
      return -1;
    }
    if (min == 1 && max == 1) return atom;
    RegexNode rep;
    rep.kind = RegexNode::Kind::Repeat;
    rep.offset = static_cast<uint32_t>(atom_at);
    rep.children.push_back(atom);
    rep.min = min;
    rep.max = max;
    return add(std::move(rep));
  }

  // {m}, {m,} or {m,n}; pos_ at '{'.
  bool braces(uint32_t& min, uint32_t& max) {
    const size_t at = pos_;
    ++pos_;
    auto number = [&](uint32_t& out) {
      if (at_end() || !is_digit(p_[pos_])) return false;
      uint64_t v = 0;
      while (!at_end() && is_digit(p_[pos_])) {
        v = std::min<uint64_t>(v * 10 + static_cast<uint64_t>(p_[pos_] - '0'), 1u << 30);
        ++pos_;
      }
      out = static_cast<uint32_t>(v);
      return true;
    };
    if (!number(min)) return fail(at, "incomplete quantifier '{' (write \\{ for the character)");
    max = min;
    if (peek(',')) {
      ++pos_;
      max = RegexNode::kUnbounded;
      if (!peek('}') && !number(max)) return fail(at, "incomplete quantifier '{m,n}'");
    }
    if (!peek('}')) return fail(at, "incomplete quantifier '{m,n}'");
    ++pos_;
    if (min > Regex::kMaxRepeat || (max != RegexNode::kUnbounded && max > Regex::kMaxRepeat)) {
      return fail(at, "repetition count above " + std::to_string(Regex::kMaxRepeat) + " in '" +
                          std::string(p_.substr(at, pos_ - at)) + "'");
    }
    if (max < min) return fail(at, "numbers out of order in quantifier '{m,n}'");
    return true;
  }

  // pos_ at '['.
  bool char_class(CodeSet& out) {
    const size_t at = pos_;
    ++pos_;
    const bool negate = peek('^');
    if (negate) ++pos_;
    std::vector<CodeRange> ranges;
    for (;;) {
      if (at_end()) return fail(at, "unterminated character class '['");
      if (peek(']')) {
        ++pos_;
        break;
      }
      const size_t lo_at = pos_;
      uint32_t lo = 0;
      CodeSet lo_set;
      bool lo_is_set = false;
      if (!class_atom(lo, lo_set, lo_is_set)) return false;
      if (peek('-') && pos_ + 1 < p_.size() && p_[pos_ + 1] != ']') {
        const size_t dash = pos_;
        ++pos_;
        uint32_t hi = 0;
        CodeSet hi_set;
        bool hi_is_set = false;
        if (!class_atom(hi, hi_set, hi_is_set)) return false;
        if (lo_is_set || hi_is_set) return fail(dash, "a class escape like \\d as a range end");
        if (lo > hi) return fail(lo_at, "range out of order in character class");
        ranges.push_back({lo, hi});
      } else if (lo_is_set) {
        ranges.insert(ranges.end(), lo_set.begin(), lo_set.end());
      } else {
        ranges.push_back({lo, lo});
      }
    }
    out = normalize_code_set(std::move(ranges));
    if (negate) out = complement_code_set(out);
    return true;
  }

  bool class_atom(uint32_t& cp, CodeSet& set, bool& is_set) {
    if (peek('\\')) return escape(true, cp, set, is_set);
    is_set = false;
    return code_point(cp);
  }

  // pos_ at '\\'. Sets either cp (one code point) or set (is_set).
  bool escape(bool in_class, uint32_t& cp, CodeSet& set, bool& is_set) {
    const size_t at = pos_;
    ++pos_;
    if (at_end()) return fail(at, "'\\' at the end of the pattern");
    const char c = p_[pos_++];
    is_set = false;
    switch (c) {
      case 'd':
      case 'D':
      case 'w':
      case 'W':
      case 's':
      case 'S': {
        const char lower = static_cast<char>(c | 0x20);
        const CodeSet& base = lower == 'd' ? digit_set() : lower == 'w' ? word_set() : space_set();
        set = c == lower ? base : complement_code_set(base);
        is_set = true;
        return true;
      }
      case 'n':
        cp = '\n';
        return true;
      case 't':
        cp = '\t';
        return true;
      case 'r':
        cp = '\r';
        return true;
      case 'f':
        cp = '\f';
        return true;
      case 'v':
        cp = '\v';
        return true;
      case 'b':
        if (in_class) {
          cp = 0x08;
          return true;
        }
        return fail(at, "word boundary '\\b' is not supported");
      case 'B':
        return fail(at, "'\\B' is not supported");
      case '0':
        if (!at_end() && is_digit(p_[pos_])) return fail(at, "octal escape '\\0N'");
        cp = 0;
        return true;
      case 'k':
        return fail(at, "named backreference '\\k' is not supported");
      case 'p':
      case 'P':
        return fail(at, std::string("Unicode property escape '\\") + c + "' is not supported");
      case 'c':
        if (!at_end() &&
            ((p_[pos_] >= 'A' && p_[pos_] <= 'Z') || (p_[pos_] >= 'a' && p_[pos_] <= 'z'))) {
          cp = static_cast<uint32_t>(p_[pos_++]) % 32;
          return true;
        }
        return fail(at, "'\\c' must be followed by a letter");
      case 'x':
        if (pos_ + 2 <= p_.size() && is_hex(p_[pos_]) && is_hex(p_[pos_ + 1])) {
          cp = hex_value(p_[pos_]) * 16 + hex_value(p_[pos_ + 1]);
          pos_ += 2;
          return true;
        }
        return fail(at, "'\\x' must be followed by two hex digits");
      case 'u':
        return unicode_escape(at, cp);
      case '-':
        cp = '-';
        return true;
      default:
        if (is_digit(c)) {
          return fail(at, std::string("backreference '\\") + c + "' is not supported");
        }
        if (is_syntax_char(c)) {
          cp = static_cast<uint8_t>(c);
          return true;
        }
        if (c > 0x20 && c < 0x7F) return fail(at, std::string("unknown escape '\\") + c + "'");
        return fail(at, "unknown escape of a non-printable or non-ASCII character");
    }
  }

  // pos_ just after "\\u"; `at` is the backslash.
  bool unicode_escape(size_t at, uint32_t& cp) {
    if (peek('{')) {
      ++pos_;
      uint32_t v = 0;
      size_t digits = 0;
      while (!at_end() && is_hex(p_[pos_])) {
        v = std::min<uint32_t>(v * 16 + hex_value(p_[pos_]), kMaxCodePoint + 1);
        ++pos_, ++digits;
      }
      if (digits == 0 || !peek('}') || v > kMaxCodePoint) {
        return fail(at, "malformed '\\u{...}' (1 to 6 hex digits up to 10FFFF)");
      }
      ++pos_;
      cp = v;
    } else if (!hex4(cp)) {
      return fail(at, "'\\u' must be followed by four hex digits or {...}");
    }
    if (cp >= 0xD800 && cp <= 0xDBFF && starts_with("\\u")) {
      const size_t save = pos_;
      pos_ += 2;
      uint32_t low = 0;
      if (hex4(low) && low >= 0xDC00 && low <= kSurrogateHi) {
        cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
        return true;
      }
      pos_ = save;
    }
    if (cp >= kSurrogateLo && cp <= kSurrogateHi) {
      return fail(at, "lone surrogate code point in '\\u' escape");
    }
    return true;
  }

  bool hex4(uint32_t& out) {
    if (pos_ + 4 > p_.size()) return false;
    uint32_t v = 0;
    for (size_t i = 0; i < 4; ++i) {
      if (!is_hex(p_[pos_ + i])) return false;
      v = v * 16 + hex_value(p_[pos_ + i]);
    }
    pos_ += 4;
    out = v;
    return true;
  }

  // One UTF-8 encoded code point of the pattern (strict: no overlongs, no surrogates).
  bool code_point(uint32_t& cp) {
    const size_t at = pos_;
    const auto byte = [&](size_t i) { return static_cast<uint8_t>(p_[i]); };
    const uint8_t b0 = byte(pos_);
    size_t len = 0;
    uint32_t min = 0;
    if (b0 < 0x80) {
      cp = b0, len = 1;
    } else if (b0 >= 0xC2 && b0 <= 0xDF) {
      cp = b0 & 0x1Fu, len = 2, min = 0x80;
    } else if (b0 >= 0xE0 && b0 <= 0xEF) {
      cp = b0 & 0x0Fu, len = 3, min = 0x800;
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
      cp = b0 & 0x07u, len = 4, min = 0x10000;
    } else {
      return fail(at, "invalid UTF-8");
    }
    if (pos_ + len > p_.size()) return fail(at, "invalid UTF-8");
    for (size_t i = 1; i < len; ++i) {
      const uint8_t b = byte(pos_ + i);
      if ((b & 0xC0) != 0x80) return fail(at, "invalid UTF-8");
      cp = (cp << 6) | (b & 0x3Fu);
    }
    if (cp < min || cp > kMaxCodePoint || (cp >= kSurrogateLo && cp <= kSurrogateHi)) {
      return fail(at, "invalid UTF-8");
    }
    pos_ += len;
    return true;
  }

  std::string_view p_;
  size_t pos_ = 0;
  RegexAst& ast_;
  std::string error_;
};

}  // namespace

CodeSet normalize_code_set(std::vector<CodeRange> ranges) {
  std::sort(ranges.begin(), ranges.end(),
            [](const CodeRange& a, const CodeRange& b) { return a.lo < b.lo; });
  CodeSet merged;
  for (const CodeRange& r : ranges) {
    if (!merged.empty() && r.lo <= merged.back().hi + 1) {
      merged.back().hi = std::max(merged.back().hi, r.hi);
    } else {
      merged.push_back(r);
    }
  }
  CodeSet out;
  out.reserve(merged.size() + 1);
  for (const CodeRange& r : merged) {
    if (r.hi < kSurrogateLo || r.lo > kSurrogateHi) {
      out.push_back(r);
      continue;
    }
    if (r.lo < kSurrogateLo) out.push_back({r.lo, kSurrogateLo - 1});
    if (r.hi > kSurrogateHi) out.push_back({kSurrogateHi + 1, r.hi});
  }
  return out;
}

CodeSet complement_code_set(const CodeSet& set) {
  std::vector<CodeRange> out;
  uint32_t next = 0;
  for (const CodeRange& r : set) {
    if (r.lo > next) out.push_back({next, r.lo - 1});
    next = r.hi + 1;
  }
  if (next <= kMaxCodePoint) out.push_back({next, kMaxCodePoint});
  return normalize_code_set(std::move(out));
}

std::optional<RegexAst> parse_regex(std::string_view pattern, std::string* error) {
  RegexAst ast;
  Parser parser(pattern, ast);
  if (!parser.parse()) {
    if (error) *error = parser.error();
    return std::nullopt;
  }
  return ast;
}

}  // namespace toolgate::engine::constrained
