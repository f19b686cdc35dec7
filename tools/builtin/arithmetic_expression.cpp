#include "tools/builtin/arithmetic_expression.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <numbers>
#include <string>
#include <system_error>

namespace toolgate::tools {
namespace {

std::size_t count_code_points(std::string_view s) {
  std::size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

std::string format_number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }

class Parser {
 public:
  explicit Parser(std::string_view text) : s_(text) {}

  double parse() {
    skip_space();
    if (pos_ == s_.size()) fail("empty expression");
    const double value = expression();
    skip_space();
    if (pos_ != s_.size()) {
      if (s_[pos_] == ')') fail("unbalanced ')'");
      fail("unexpected " + describe_here());
    }
    return value;
  }

 private:
  // Depth guard held by unary(): every recursion (parentheses, function arguments, chains of
  // unary minus or of right-associative powers) passes through it, so it bounds the stack.
  class Nesting {
   public:
    explicit Nesting(Parser& p) : p_(p) {
      if (++p_.depth_ > kMaxExpressionDepth) {
        p_.fail("expression is nested too deeply (limit " + std::to_string(kMaxExpressionDepth) +
                ")");
      }
    }
    ~Nesting() { --p_.depth_; }
    Nesting(const Nesting&) = delete;
    Nesting& operator=(const Nesting&) = delete;

   private:
    Parser& p_;
  };

  [[noreturn]] void fail(const std::string& what) const {
    throw ExpressionError(what + " at position " +
                          std::to_string(count_code_points(s_.substr(0, pos_)) + 1));
  }

  std::string describe_here() const {
    if (pos_ >= s_.size()) return "end of expression";
    std::size_t len = 1;
    const auto lead = static_cast<unsigned char>(s_[pos_]);
    if (lead >= 0xC0) {
      while (pos_ + len < s_.size() &&
             (static_cast<unsigned char>(s_[pos_ + len]) & 0xC0) == 0x80) {
        ++len;
      }
    }
    // Built by appending: GCC 12 warns falsely (-Wrestrict) about "'" + std::string(...).
    std::string out(1, '\'');
    out.append(s_.substr(pos_, len));
    out += '\'';
    return out;
  }

  void skip_space() {
    while (pos_ < s_.size() &&
           (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r')) {
      ++pos_;
    }
  }

  // Consumes `token` (after whitespace) if it is next.
  bool accept(std::string_view token) {
    skip_space();
    if (s_.substr(pos_, token.size()) != token) return false;
    pos_ += token.size();
    return true;
  }

  double checked(double v, std::size_t at) {
    if (std::isnan(v)) {
      pos_ = at;
      fail("result is not a real number");
    }
    if (std::isinf(v)) {
      pos_ = at;
      fail("overflow");
    }
    return v;
  }

  double expression() {
    double value = term();
    for (;;) {
      const std::size_t at = (skip_space(), pos_);
      if (accept("+")) {
        value = checked(value + term(), at);
      } else if (accept("-") || accept("\u2212")) {
        value = checked(value - term(), at);
      } else {
        return value;
      }
    }
  }

  double term() {
    double value = unary();
    for (;;) {
      const std::size_t at = (skip_space(), pos_);
      // "**" is a power, handled below us; don't read its first '*' as a product.
      if (s_.substr(pos_, 2) != "**" && (accept("*") || accept("\u00D7"))) {
        value = checked(value * unary(), at);
      } else if (accept("/") || accept("\u00F7")) {
        const double divisor = unary();
        if (divisor == 0) {
          pos_ = at;
          fail("division by zero");
        }
        value = checked(value / divisor, at);
      } else if (accept("%")) {
        const double divisor = unary();
        if (divisor == 0) {
          pos_ = at;
          fail("division by zero (remainder)");
        }
        value = checked(std::fmod(value, divisor), at);
      } else {
        return value;
      }
    }
  }

  double unary() {
    Nesting guard(*this);
    if (accept("-") || accept("\u2212")) return -unary();
    if (accept("+")) return unary();
    return power();
  }

  double power() {
    const double base = primary();
    const std::size_t at = (skip_space(), pos_);
    if (!accept("^") && !accept("**")) return base;
    const double exponent = unary();  // right-associative; allows 2^-1
    if (base == 0 && exponent < 0) {
      pos_ = at;
      fail("division by zero (zero to a negative power)");
    }
    return checked(std::pow(base, exponent), at);
  }

  double primary() {
    skip_space();
    if (pos_ == s_.size()) fail("expected a number, got end of expression");
    const char c = s_[pos_];
    if (is_digit(c) || c == '.') return number();
    if (accept("(")) {
      const double value = expression();
      if (!accept(")")) fail("missing ')'");
      return value;
    }
    if (accept("\u03C0")) return std::numbers::pi;
    if (is_alpha(c)) return named();
    if (c == ')') fail("unexpected ')'");
    fail("expected a number, got " + describe_here());
  }

  double number() {
    const std::size_t start = pos_;
    auto digits = [&] {
      const std::size_t from = pos_;
      while (pos_ < s_.size() && is_digit(s_[pos_])) ++pos_;
      return pos_ - from;
    };
    std::size_t mantissa_digits = digits();
    if (pos_ < s_.size() && s_[pos_] == '.') {
      ++pos_;
      mantissa_digits += digits();
    }
    if (mantissa_digits == 0) {
      pos_ = start;
      fail("malformed number");
    }
    if (pos_ < s_.size() && (s_[pos_] == 'e' || s_[pos_] == 'E')) {
      const std::size_t mark = pos_++;
      if (pos_ < s_.size() && (s_[pos_] == '+' || s_[pos_] == '-')) ++pos_;
      if (digits() == 0) pos_ = mark;  // "2e" or "2ex": the 'e' is not an exponent
    }
    double value = 0;
    const auto [end, ec] = std::from_chars(s_.data() + start, s_.data() + pos_, value);
    if (ec == std::errc::result_out_of_range) {
      // Underflow (1e-400) is harmless: it is zero. Overflow is not.
      // The literal carries no sign of its own, so a '-' can only be the exponent's.
      if (s_.substr(start, pos_ - start).find('-') != std::string_view::npos) return 0.0;
      pos_ = start;
      fail("number is too large");
    }
    if (ec != std::errc() || end != s_.data() + pos_) {
      pos_ = start;
      fail("malformed number");
    }
    return value;
  }

  double named() {
    const std::size_t start = pos_;
    while (pos_ < s_.size() && (is_alpha(s_[pos_]) || is_digit(s_[pos_]))) ++pos_;
    const std::string_view name = s_.substr(start, pos_ - start);
    if (name == "pi") return std::numbers::pi;
    if (name == "e") return std::numbers::e;
    using Fn = double (*)(double);
    struct Function {
      std::string_view name;
      Fn fn;
    };
    static constexpr Function kFunctions[] = {
        {"sqrt", [](double x) { return std::sqrt(x); }},
        {"abs", [](double x) { return std::fabs(x); }},
        {"floor", [](double x) { return std::floor(x); }},
        {"ceil", [](double x) { return std::ceil(x); }},
        {"round", [](double x) { return std::round(x); }},
        {"exp", [](double x) { return std::exp(x); }},
        {"ln", [](double x) { return std::log(x); }},
        {"log10", [](double x) { return std::log10(x); }},
    };
    for (const auto& f : kFunctions) {
      if (f.name != name) continue;
      if (!accept("(")) fail("expected '(' after " + std::string(name));
      const double arg = expression();
      if (!accept(")")) fail("missing ')'");
      if ((name == "sqrt" && arg < 0) || ((name == "ln" || name == "log10") && arg <= 0)) {
        pos_ = start;
        fail(std::string(name) + " is not defined for " + format_number(arg));
      }
      return checked(f.fn(arg), start);
    }
    pos_ = start;
    fail("unknown name '" + std::string(name) + "'");
  }

  std::string_view s_;
  std::size_t pos_ = 0;
  int depth_ = 0;
};

}  // namespace

double evaluate_expression(std::string_view text) {
  const std::size_t length = count_code_points(text);
  if (length > kMaxExpressionLength) {
    throw ExpressionError("expression is too long (" + std::to_string(length) +
                          " characters, limit " + std::to_string(kMaxExpressionLength) + ")");
  }
  return Parser(text).parse();
}

}  // namespace toolgate::tools
