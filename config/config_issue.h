#pragma once
// What the loader and validator report: one ConfigIssue per problem, with where it is.
#include <functional>
#include <string>

namespace toolgate::config {

struct ConfigIssue {
  std::string file;     // config file path (or the name given to load_config_string)
  int line = 0;         // 1-based; 0 = no position (e.g. a value that came from a flag)
  int column = 0;       // 1-based
  std::string path;     // e.g. models[1].engine.kv_dtype; empty for whole-file problems
  std::string message;  // e.g. "expected one of f16, int8, int4, got 'f8'"

  // "file:line:col: models[1].engine.kv_dtype: expected one of f16, int8, int4, got 'f8'"
  // (":line:col" is left out when line is 0, "path: " when path is empty).
  std::string to_string() const;
};

struct ValidationContext {
  // Whether a tool name is known to the tool registry. Rule for tool names:
  //  - tools.builtin[i] must be a built-in tool: one of builtin_tool_names(), or a name
  //    tool_exists() accepts.
  //  - models[i].server_tools[j] must be enabled: listed in tools.builtin, or accepted by
  //    tool_exists() (the gateway passes its registry, which knows loaded plugins). When
  //    tool_exists is unset and tools.plugins is not empty, names that are not built-ins are
  //    accepted, because a plugin's tool names are only known once it is loaded; the gateway
  //    checks them again after loading plugins.
  std::function<bool(const std::string&)> tool_exists;
  // Check that model files, chat_template_file and plugin libraries exist.
  bool check_files = true;
};

}  // namespace toolgate::config
