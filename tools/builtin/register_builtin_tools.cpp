#include <algorithm>
#include <stdexcept>

#include "tools/builtin/builtin_tools.h"

namespace toolgate::tools {
namespace {

struct BuiltinEntry {
  const char* name;
  std::unique_ptr<Tool> (*make)();
};

const BuiltinEntry kBuiltins[] = {
    {"calculator", &make_calculator_tool},
    {"add", &make_add_tool},
    {"mul", &make_mul_tool},
    {"current_time", [] { return make_current_time_tool(); }},
};

}  // namespace

std::vector<std::string> builtin_tool_names() {
  std::vector<std::string> names;
  for (const auto& b : kBuiltins) names.emplace_back(b.name);
  return names;
}

void register_builtin_tools(ToolRegistry& registry, const std::vector<std::string>& enabled) {
  const auto known = builtin_tool_names();
  for (const auto& name : enabled) {
    if (std::find(known.begin(), known.end(), name) == known.end()) {
      std::string list;
      for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
      throw std::invalid_argument("unknown built-in tool '" + name + "' (known: " + list + ")");
    }
  }
  for (const auto& b : kBuiltins) {
    const bool wanted =
        enabled.empty() || std::find(enabled.begin(), enabled.end(), b.name) != enabled.end();
    if (wanted) registry.add(b.make());
  }
}

}  // namespace toolgate::tools
