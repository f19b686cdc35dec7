#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "tools/builtin/arithmetic_expression.h"

namespace toolgate::tools {
namespace {

std::string error_of(const std::string& expression) {
  try {
    evaluate_expression(expression);
  } catch (const ExpressionError& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(ArithmeticExpression, ParenthesesComeFirst) { EXPECT_EQ(evaluate_expression("(3+5)*2"), 16); }

TEST(ArithmeticExpression, ProductsBindTighterThanSums) {
  EXPECT_EQ(evaluate_expression("3+5*2"), 13);
  EXPECT_EQ(evaluate_expression("10-4/2"), 8);
  EXPECT_EQ(evaluate_expression("2*3+4*5"), 26);
}

TEST(ArithmeticExpression, SameLevelOperatorsAssociateLeft) {
  EXPECT_EQ(evaluate_expression("10-4-3"), 3);
  EXPECT_EQ(evaluate_expression("64/4/2"), 8);
  EXPECT_EQ(evaluate_expression("20%7%4"), 2);
}

TEST(ArithmeticExpression, PowerAssociatesRight) {
  EXPECT_EQ(evaluate_expression("2^3^2"), 512);
  EXPECT_EQ(evaluate_expression("2**3**2"), 512);
  EXPECT_EQ(evaluate_expression("2*3^2"), 18);
}

TEST(ArithmeticExpression, UnaryMinusBindsLooserThanPower) {
  EXPECT_EQ(evaluate_expression("-2^2"), -4);
  EXPECT_EQ(evaluate_expression("(-2)^2"), 4);
  EXPECT_EQ(evaluate_expression("2^-1"), 0.5);
  EXPECT_EQ(evaluate_expression("--3"), 3);
  EXPECT_EQ(evaluate_expression("4*-2"), -8);
  EXPECT_EQ(evaluate_expression("+5"), 5);
}

TEST(ArithmeticExpression, UnicodeOperators) {
  EXPECT_EQ(evaluate_expression("6 × 7"), 42);
  EXPECT_EQ(evaluate_expression("84 ÷ 2"), 42);
  EXPECT_EQ(evaluate_expression("50 − 8"), 42);
}

TEST(ArithmeticExpression, DecimalsAndScientificNotation) {
  EXPECT_DOUBLE_EQ(evaluate_expression("0.1+0.2"), 0.1 + 0.2);
  EXPECT_EQ(evaluate_expression(".5*4"), 2);
  EXPECT_EQ(evaluate_expression("1.5e3"), 1500);
  EXPECT_EQ(evaluate_expression("2E-2*100"), 2);
  EXPECT_EQ(evaluate_expression("1e-400"), 0);  // underflow is just zero
}

TEST(ArithmeticExpression, FunctionsAndConstants) {
  EXPECT_EQ(evaluate_expression("sqrt(16)+abs(-3)"), 7);
  EXPECT_DOUBLE_EQ(evaluate_expression("2*pi"), 2 * 3.14159265358979323846);
  EXPECT_DOUBLE_EQ(evaluate_expression("ln(e)"), 1);
  EXPECT_EQ(evaluate_expression("floor(2.7)+ceil(2.1)+round(2.5)"), 8);
  EXPECT_EQ(evaluate_expression("log10(1000)"), 3);
}

TEST(ArithmeticExpression, RemainderKeepsSignOfDividend) {
  EXPECT_EQ(evaluate_expression("7%3"), 1);
  EXPECT_EQ(evaluate_expression("-7%3"), -1);
  EXPECT_DOUBLE_EQ(evaluate_expression("5.5%2"), 1.5);
}

TEST(ArithmeticExpression, WhitespaceIsIgnored) {
  EXPECT_EQ(evaluate_expression("  ( 1 +\t2 )\n* 3 "), 9);
}

TEST(ArithmeticExpression, DivisionByZeroIsAnError) {
  EXPECT_EQ(error_of("1/0"), "division by zero at position 2");
  EXPECT_EQ(error_of("1/(2-2)"), "division by zero at position 2");
  EXPECT_EQ(error_of("5%0"), "division by zero (remainder) at position 2");
  EXPECT_EQ(error_of("0^-1"), "division by zero (zero to a negative power) at position 2");
}

TEST(ArithmeticExpression, OverflowIsAnError) {
  EXPECT_EQ(error_of("10^400"), "overflow at position 3");
  EXPECT_EQ(error_of("1e308*10"), "overflow at position 6");
  EXPECT_EQ(error_of("1e999"), "number is too large at position 1");
}

TEST(ArithmeticExpression, NonRealResultsAreErrors) {
  EXPECT_EQ(error_of("sqrt(-1)"), "sqrt is not defined for -1 at position 1");
  EXPECT_EQ(error_of("(-8)^(1/3)"), "result is not a real number at position 5");
  EXPECT_EQ(error_of("ln(0)"), "ln is not defined for 0 at position 1");
}

TEST(ArithmeticExpression, GarbageIsRejected) {
  EXPECT_EQ(error_of(""), "empty expression at position 1");
  EXPECT_EQ(error_of("   "), "empty expression at position 4");
  EXPECT_EQ(error_of("2+"), "expected a number, got end of expression at position 3");
  EXPECT_EQ(error_of("2 3"), "unexpected '3' at position 3");
  EXPECT_EQ(error_of("2(3)"), "unexpected '(' at position 2");
  EXPECT_EQ(error_of("1.2.3"), "unexpected '.' at position 4");
  EXPECT_EQ(error_of("abc"), "unknown name 'abc' at position 1");
  EXPECT_EQ(error_of("system(1)"), "unknown name 'system' at position 1");
  EXPECT_EQ(error_of("2 $ 3"), "unexpected '$' at position 3");
  EXPECT_EQ(error_of("3 € 4"), "unexpected '€' at position 3");
  EXPECT_EQ(error_of("sqrt 4"), "expected '(' after sqrt at position 6");
  EXPECT_EQ(error_of("."), "malformed number at position 1");
  EXPECT_EQ(error_of("2e"), "unexpected 'e' at position 2");
}

TEST(ArithmeticExpression, UnbalancedParenthesesAreErrors) {
  EXPECT_EQ(error_of("(1+2"), "missing ')' at position 5");
  EXPECT_EQ(error_of("1+2)"), "unbalanced ')' at position 4");
  EXPECT_EQ(error_of("()"), "unexpected ')' at position 2");
  EXPECT_EQ(error_of("sqrt(4"), "missing ')' at position 7");
}

TEST(ArithmeticExpression, TooLongInputIsRejected) {
  std::string expression = "1";
  while (expression.size() <= kMaxExpressionLength) expression += "+1";
  EXPECT_EQ(error_of(expression), "expression is too long (1001 characters, limit 1000)");
  // Exactly at the limit is fine.
  expression.resize(kMaxExpressionLength - 1);  // "1+1+...+1", 999 characters
  EXPECT_EQ(evaluate_expression(expression), 500);
}

TEST(ArithmeticExpression, TooDeepNestingIsRejected) {
  const std::string deep = std::string(200, '(') + "1" + std::string(200, ')');
  EXPECT_EQ(error_of(deep), "expression is nested too deeply (limit 100) at position 101");
  const std::string signs = std::string(300, '-') + "1";
  EXPECT_NE(error_of(signs).find("nested too deeply"), std::string::npos);
  const std::string ok = std::string(50, '(') + "1" + std::string(50, ')');
  EXPECT_EQ(evaluate_expression(ok), 1);
}

}  // namespace
}  // namespace toolgate::tools
