#pragma once
// A hand-written evaluator for arithmetic expressions typed by a model or a person.
//
// Grammar (recursive descent; lowest precedence first):
//   expression := term (('+' | '-') term)*
//   term       := unary (('*' | '×' | '/' | '÷' | '%') unary)*      % is the floating remainder
//   unary      := ('-' | '−' | '+') unary | power
//   power      := primary (('^' | '**') unary)?                   right-associative
//   primary    := number | constant | function '(' expression ')' | '(' expression ')'
//   number     := digits ['.' digits] | '.' digits, then optionally [eE] [+-] digits
//   constant   := pi | π | e            function := sqrt abs floor ceil round exp ln log10
// so -2^2 = -4 (as in mathematics), 2^-1 = 0.5 and 2^3^2 = 512.
// It only computes numbers: there is no name lookup beyond the fixed lists above.
#include <cstddef>
#include <stdexcept>
#include <string_view>

namespace toolgate::tools {

class ExpressionError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

inline constexpr std::size_t kMaxExpressionLength = 1000;  // code points
inline constexpr int kMaxExpressionDepth = 100;            // nested parentheses, signs, powers

// Throws ExpressionError with a message naming the problem and its position (1-based
// character): syntax errors, division by zero, overflow, results that are not real numbers,
// input longer than kMaxExpressionLength, nesting deeper than kMaxExpressionDepth.
double evaluate_expression(std::string_view text);

}  // namespace toolgate::tools
