#include "tools/builtin/binary_arithmetic_tool.h"
#include "tools/builtin/builtin_tools.h"

namespace toolgate::tools {
namespace {

class AddTool final : public BinaryArithmeticTool {
 public:
  AddTool() : BinaryArithmeticTool("add", "Add two numbers: returns a + b.") {}

 protected:
  std::optional<std::int64_t> exact(std::int64_t a, std::int64_t b) const override {
    std::int64_t r = 0;
    if (__builtin_add_overflow(a, b, &r)) return std::nullopt;
    return r;
  }
  double inexact(double a, double b) const override { return a + b; }
};

}  // namespace

std::unique_ptr<Tool> make_add_tool() { return std::make_unique<AddTool>(); }

}  // namespace toolgate::tools
