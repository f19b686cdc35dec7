#pragma once
// Shared shape of `add` and `mul`: {"a": number, "b": number} -> {"result": number}.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "tools/builtin/number_json.h"
#include "tools/tool.h"

namespace toolgate::tools {

class BinaryArithmeticTool : public Tool {
 public:
  BinaryArithmeticTool(std::string name, std::string description) {
    spec_.name = std::move(name);
    spec_.description = std::move(description);
    spec_.parameters = {{"type", "object"},
                        {"properties", {{"a", {{"type", "number"}}}, {"b", {{"type", "number"}}}}},
                        {"required", {"a", "b"}},
                        {"additionalProperties", false}};
  }

  const ToolSpec& spec() const final { return spec_; }

  nlohmann::json invoke(const nlohmann::json& arguments) final {
    const auto& a = arguments.at("a");
    const auto& b = arguments.at("b");
    if (auto x = as_int64(a), y = as_int64(b); x && y) {
      if (auto r = exact(*x, *y)) return {{"result", *r}};
    }
    return {{"result", number_json(inexact(a.get<double>(), b.get<double>()))}};
  }

 protected:
  // Integer arithmetic; nullopt on overflow (the double path takes over).
  virtual std::optional<std::int64_t> exact(std::int64_t a, std::int64_t b) const = 0;
  virtual double inexact(double a, double b) const = 0;

 private:
  static std::optional<std::int64_t> as_int64(const nlohmann::json& v) {
    if (v.is_number_unsigned()) {
      const auto u = v.get<std::uint64_t>();
      if (u > static_cast<std::uint64_t>(INT64_MAX)) return std::nullopt;
      return static_cast<std::int64_t>(u);
    }
    if (v.is_number_integer()) return v.get<std::int64_t>();
    return std::nullopt;
  }

  ToolSpec spec_;
};

}  // namespace toolgate::tools
