#pragma once
// Tools compiled into the server: calculator, add, mul, current_time.
#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "tools/tool.h"
#include "tools/tool_registry.h"

namespace toolgate::tools {

// {"expression": string} -> {"result": number}; see arithmetic_expression.h for the grammar.
std::unique_ptr<Tool> make_calculator_tool();
// {"a": number, "b": number} -> {"result": a + b}. Integers stay exact while they fit in
// 64 bits; otherwise the result is a double.
std::unique_ptr<Tool> make_add_tool();
// {"a": number, "b": number} -> {"result": a * b}, same number rules as add.
std::unique_ptr<Tool> make_mul_tool();

struct CurrentTimeOptions {
  // Where the TZif files live; empty = $TZDIR, else /usr/share/zoneinfo.
  std::filesystem::path zoneinfo_dir;
  // The clock; empty = std::chrono::system_clock::now. Tests pin it.
  std::function<std::chrono::system_clock::time_point()> now;
};
// {"timezone": IANA name, default "UTC"} ->
// {"timezone", "datetime" (ISO-8601 local time with offset), "utc_offset", "abbreviation",
//  "is_dst", "weekday", "unix_time"}. Unknown zone -> error.
std::unique_ptr<Tool> make_current_time_tool(CurrentTimeOptions options = {});

// Names register_builtin_tools() knows, in registration order.
std::vector<std::string> builtin_tool_names();

// Adds the named built-in tools (empty = all) in builtin_tool_names() order. Throws
// std::invalid_argument naming an unknown tool before adding anything.
void register_builtin_tools(ToolRegistry& registry, const std::vector<std::string>& enabled);

}  // namespace toolgate::tools
