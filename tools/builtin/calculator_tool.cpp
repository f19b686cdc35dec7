#include "tools/builtin/arithmetic_expression.h"
#include "tools/builtin/builtin_tools.h"
#include "tools/builtin/number_json.h"

namespace toolgate::tools {
namespace {

class CalculatorTool final : public Tool {
 public:
  CalculatorTool() {
    spec_.name = "calculator";
    spec_.description =
        "Evaluate an arithmetic expression exactly as written and return the number. Supports "
        "+ - * / % (remainder), ^ or ** (power), parentheses, decimals, scientific notation "
        "(1.5e3), the constants pi and e, and sqrt, abs, floor, ceil, round, exp, ln, log10.";
    spec_.parameters = {{"type", "object"},
                        {"properties",
                         {{"expression",
                           {{"type", "string"},
                            {"description", "The expression, e.g. \"(3 + 5) * 2\" or \"2^10 / 4\""},
                            {"minLength", 1},
                            {"maxLength", kMaxExpressionLength}}}}},
                        {"required", {"expression"}},
                        {"additionalProperties", false}};
  }

  const ToolSpec& spec() const override { return spec_; }

  nlohmann::json invoke(const nlohmann::json& arguments) override {
    const auto& expression = arguments.at("expression").get_ref<const std::string&>();
    return {{"result", number_json(evaluate_expression(expression))}};
  }

 private:
  ToolSpec spec_;
};

}  // namespace

std::unique_ptr<Tool> make_calculator_tool() { return std::make_unique<CalculatorTool>(); }

}  // namespace toolgate::tools
