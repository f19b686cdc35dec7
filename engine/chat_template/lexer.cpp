#include "engine/chat_template/lexer.h"

#include <algorithm>
#include <cctype>

#include "engine/chat_template.h"
#include "engine/tokenizer/unicode.h"

namespace toolgate::engine::jinja {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

class Lexer {
 public:
  explicit Lexer(std::string src) : src_(std::move(src)) {
    for (size_t i = 0; i < src_.size(); ++i)
      if (src_[i] == '\n') line_starts_.push_back(i + 1);
  }

  std::vector<Token> run() {
    size_t pos = 0;
    bool line_starting = true;
    while (pos < src_.size()) {
      size_t start = find_tag(pos);
      std::string text = src_.substr(pos, (start == std::string::npos ? src_.size() : start) - pos);
      if (start == std::string::npos) {
        emit_text(std::move(text), pos);
        break;
      }
      char type = src_[start + 1];  // '{', '%' or '#'
      char modifier = start + 2 < src_.size() ? src_[start + 2] : '\0';
      if (modifier == '-') {
        while (!text.empty() && is_space(text.back())) text.pop_back();
      } else if (type != '{' && modifier != '+') {
        // lstrip_blocks: only whitespace between the start of the line and the tag.
        size_t l_pos = text.rfind('\n');
        l_pos = l_pos == std::string::npos ? 0 : l_pos + 1;
        if (l_pos > 0 || line_starting) {
          bool blank = std::all_of(text.begin() + static_cast<long>(l_pos), text.end(),
                                   [](char c) { return c == ' ' || c == '\t'; });
          if (blank) text.resize(l_pos);
        }
      }
      emit_text(std::move(text), pos);
      size_t inner = start + 2 + ((modifier == '-' || modifier == '+') ? 1 : 0);
      size_t end;
      if (type == '#') {
        size_t close = src_.find("#}", inner);
        if (close == std::string::npos) fail(start, "unterminated comment");
        bool strip = close > inner && src_[close - 1] == '-';
        bool keep = close > inner && src_[close - 1] == '+';
        end = finish_tag(close + 2, strip, !keep);
      } else if (type == '%' && is_raw(inner)) {
        end = lex_raw(start, inner);
      } else {
        end = lex_tag(start, inner, type == '%');
      }
      line_starting = end > 0 && src_[end - 1] == '\n';
      pos = end;
    }
    tokens_.push_back({Token::Kind::End, "", position(src_.size())});
    return std::move(tokens_);
  }

 private:
  std::string src_;
  std::vector<size_t> line_starts_{0};
  std::vector<Token> tokens_;

  SourcePos position(size_t offset) const {
    auto it = std::upper_bound(line_starts_.begin(), line_starts_.end(), offset);
    size_t line = static_cast<size_t>(it - line_starts_.begin());
    return {static_cast<int>(line), static_cast<int>(offset - line_starts_[line - 1] + 1)};
  }

  [[noreturn]] void fail(size_t offset, const std::string& msg) const {
    SourcePos p = position(offset);
    throw TemplateError(std::to_string(p.line) + ":" + std::to_string(p.column) + ": " + msg);
  }

  size_t find_tag(size_t from) const {
    for (size_t i = src_.find('{', from); i != std::string::npos; i = src_.find('{', i + 1)) {
      if (i + 1 < src_.size() && (src_[i + 1] == '{' || src_[i + 1] == '%' || src_[i + 1] == '#')) return i;
    }
    return std::string::npos;
  }

  void emit_text(std::string text, size_t offset) {
    if (!text.empty()) tokens_.push_back({Token::Kind::Text, std::move(text), position(offset)});
  }

  // After a tag's closing delimiter: `-` strips all following whitespace; otherwise
  // trim_blocks drops a single newline after block and comment tags.
  size_t finish_tag(size_t end, bool strip, bool trim_newline) const {
    if (strip) {
      while (end < src_.size() && is_space(src_[end])) ++end;
    } else if (trim_newline && end < src_.size() && src_[end] == '\n') {
      ++end;
    }
    return end;
  }

  static bool is_word(const std::string& s, size_t& i, const char* word) {
    size_t n = std::char_traits<char>::length(word);
    if (s.compare(i, n, word) != 0) return false;
    if (i + n < s.size() && (std::isalnum(static_cast<unsigned char>(s[i + n])) || s[i + n] == '_')) return false;
    i += n;
    return true;
  }

  bool is_raw(size_t inner) const {
    size_t i = inner;
    while (i < src_.size() && is_space(src_[i])) ++i;
    return is_word(src_, i, "raw");
  }

  size_t lex_raw(size_t start, size_t inner) {
    size_t close = src_.find("%}", inner);
    if (close == std::string::npos) fail(start, "unterminated raw tag");
    bool strip_after_open = src_[close - 1] == '-';
    size_t body_start = finish_tag(close + 2, strip_after_open, src_[close - 1] != '+');
    for (size_t i = src_.find("{%", body_start); i != std::string::npos; i = src_.find("{%", i + 2)) {
      size_t j = i + 2;
      bool strip_before = j < src_.size() && src_[j] == '-';
      if (j < src_.size() && (src_[j] == '-' || src_[j] == '+')) ++j;
      while (j < src_.size() && is_space(src_[j])) ++j;
      if (!is_word(src_, j, "endraw")) continue;
      while (j < src_.size() && is_space(src_[j])) ++j;
      bool strip_after = j < src_.size() && src_[j] == '-';
      if (strip_after || (j < src_.size() && src_[j] == '+')) ++j;
      if (src_.compare(j, 2, "%}") != 0) fail(i, "expected '%}' after endraw");
      std::string body = src_.substr(body_start, i - body_start);
      if (strip_before)
        while (!body.empty() && is_space(body.back())) body.pop_back();
      emit_text(std::move(body), body_start);
      return finish_tag(j + 2, strip_after, src_[j - 1] != '+');
    }
    fail(start, "unterminated raw block (missing endraw)");
  }

  size_t lex_tag(size_t start, size_t i, bool block) {
    tokens_.push_back({block ? Token::Kind::BlockBegin : Token::Kind::VarBegin, "", position(start)});
    int depth = 0;  // open ( [ { inside the tag, so `}}` in a dict literal does not close it
    while (true) {
      while (i < src_.size() && is_space(src_[i])) ++i;
      if (i >= src_.size()) fail(start, block ? "unterminated block tag (missing '%}')" : "unterminated '{{'");
      const char* close = block ? "%}" : "}}";
      bool at_close = false, strip = false, keep = false;
      if (src_.compare(i, 2, close) == 0 && (block || depth == 0)) {
        at_close = true;
      } else if ((src_[i] == '-' || src_[i] == '+') && src_.compare(i + 1, 2, close) == 0 && (block || depth == 0)) {
        at_close = true;
        strip = src_[i] == '-';
        keep = src_[i] == '+';
        ++i;
      }
      if (at_close) {
        tokens_.push_back({block ? Token::Kind::BlockEnd : Token::Kind::VarEnd, "", position(i)});
        return finish_tag(i + 2, strip, block && !keep);
      }
      char c = src_[i];
      size_t tok_start = i;
      if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
        while (i < src_.size() && (std::isalnum(static_cast<unsigned char>(src_[i])) || src_[i] == '_')) ++i;
        tokens_.push_back({Token::Kind::Name, src_.substr(tok_start, i - tok_start), position(tok_start)});
      } else if (std::isdigit(static_cast<unsigned char>(c))) {
        bool is_float = false;
        while (i < src_.size() && (std::isdigit(static_cast<unsigned char>(src_[i])) || src_[i] == '_')) ++i;
        if (i + 1 < src_.size() && src_[i] == '.' && std::isdigit(static_cast<unsigned char>(src_[i + 1]))) {
          is_float = true;
          ++i;
          while (i < src_.size() && std::isdigit(static_cast<unsigned char>(src_[i]))) ++i;
        }
        if (i < src_.size() && (src_[i] == 'e' || src_[i] == 'E')) {
          size_t j = i + 1;
          if (j < src_.size() && (src_[j] == '+' || src_[j] == '-')) ++j;
          if (j < src_.size() && std::isdigit(static_cast<unsigned char>(src_[j]))) {
            is_float = true;
            i = j;
            while (i < src_.size() && std::isdigit(static_cast<unsigned char>(src_[i]))) ++i;
          }
        }
        std::string num = src_.substr(tok_start, i - tok_start);
        num.erase(std::remove(num.begin(), num.end(), '_'), num.end());
        tokens_.push_back({is_float ? Token::Kind::Float : Token::Kind::Int, num, position(tok_start)});
      } else if (c == '\'' || c == '"') {
        tokens_.push_back({Token::Kind::String, lex_string(i), position(tok_start)});
      } else {
        static const char* const kOps[] = {"//", "**", "==", "!=", "<=", ">=", "+", "-", "*", "/", "%", "~", "|",
                                           ".",  ",",  ":",  "(",  ")",  "[",  "]", "{", "}", "<", ">", "="};
        std::string op;
        for (const char* candidate : kOps) {
          if (src_.compare(i, std::char_traits<char>::length(candidate), candidate) == 0) {
            op = candidate;
            break;
          }
        }
        if (op.empty()) fail(i, std::string("unexpected character '") + c + "'");
        if (op == "(" || op == "[" || op == "{") ++depth;
        if (op == ")" || op == "]" || op == "}") --depth;
        i += op.size();
        tokens_.push_back({Token::Kind::Op, op, position(tok_start)});
      }
    }
  }

  // Python string literal escapes: \n \t \r \\ \' \" \xHH \uHHHH; unknown escapes are kept.
  std::string lex_string(size_t& i) {
    char quote = src_[i];
    size_t start = i++;
    std::string out;
    while (true) {
      if (i >= src_.size()) fail(start, "unterminated string literal");
      char c = src_[i++];
      if (c == quote) break;
      if (c != '\\') {
        out += c;
        continue;
      }
      if (i >= src_.size()) fail(start, "unterminated string literal");
      char e = src_[i++];
      switch (e) {
        case 'n': out += '\n'; break;
        case 't': out += '\t'; break;
        case 'r': out += '\r'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case '0': out += '\0'; break;
        case '\\': out += '\\'; break;
        case '\'': out += '\''; break;
        case '"': out += '"'; break;
        case '\n': break;
        case 'x':
        case 'u':
        case 'U': {
          size_t len = e == 'x' ? 2 : e == 'u' ? 4 : 8;
          if (i + len > src_.size()) fail(start, "truncated escape in string literal");
          uint32_t cp = static_cast<uint32_t>(std::stoul(src_.substr(i, len), nullptr, 16));
          i += len;
          unicode::append_utf8(cp, out);
          break;
        }
        default:
          out += '\\';
          out += e;
      }
    }
    return out;
  }
};

// Jinja2 reads source through str.splitlines(): line endings become "\n" and, with
// keep_trailing_newline=False, one trailing newline is dropped.
std::string normalize_newlines(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\r') {
      out += '\n';
      if (i + 1 < s.size() && s[i + 1] == '\n') ++i;
    } else {
      out += s[i];
    }
  }
  if (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

}  // namespace

std::vector<Token> tokenize(const std::string& source) { return Lexer(normalize_newlines(source)).run(); }

}  // namespace toolgate::engine::jinja
