#pragma once
// The set of tools the server executes itself, and the one safe way to call them.
//
// Threading: build the registry first (add), then share it; every const member may be called
// concurrently from any number of threads. add() must not race with anything.
#include <chrono>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "tools/deadline_call.h"
#include "tools/tool.h"

namespace toolgate::tools {

struct ToolResult {
  bool ok = false;
  nlohmann::json value;  // set when ok
  std::string error;     // set when !ok; written for the model to read
  std::chrono::microseconds elapsed{0};

  // The content of the `tool` message fed back to the model: the JSON of `value`, or
  // {"error": "..."}. Never throws (invalid UTF-8 in strings is replaced).
  std::string as_content() const;
};

class ToolRegistry {
 public:
  // Abandoned (timed-out but still running) calls allowed before new calls are refused.
  static constexpr int kDefaultMaxAbandonedCalls = 16;

  explicit ToolRegistry(int max_abandoned_calls = kDefaultMaxAbandonedCalls);
  ~ToolRegistry();
  ToolRegistry(const ToolRegistry&) = delete;
  ToolRegistry& operator=(const ToolRegistry&) = delete;

  // Throws std::invalid_argument for a null tool, a name that is not [A-Za-z0-9_-]{1,64},
  // a duplicate name, or parameters that are not a JSON object (a schema). Null parameters
  // mean "no parameters" and render as {"type":"object","properties":{}}.
  void add(std::unique_ptr<Tool> tool);

  const Tool* find(std::string_view name) const;
  bool contains(std::string_view name) const { return find(name) != nullptr; }
  // In the order the tools were added.
  std::vector<const ToolSpec*> list() const;

  // Never throws. `args_or_string` is either the arguments object or, as OpenAI tool_calls
  // carry it, a string holding its JSON text (empty string or null = {}). The arguments are
  // parsed, checked against the tool's schema, and the tool runs with `timeout` (<= 0: no
  // deadline, runs on the calling thread). Every failure — unknown tool, bad JSON, schema
  // violation, exception, timeout — comes back as an error result.
  ToolResult invoke(std::string_view name, const nlohmann::json& args_or_string,
                    std::chrono::milliseconds timeout) const;

  // OpenAI `tools` array entries {"type":"function","function":{name,description,parameters}}
  // for the named tools, in the given order. Throws std::invalid_argument on an unknown name.
  nlohmann::json openai_tools_json(const std::vector<std::string>& names) const;
  // ... for every tool, in the order they were added.
  nlohmann::json openai_tools_json() const;

  // Timed-out calls whose threads have not finished yet (for metrics).
  int abandoned_calls() const { return abandoned_.current(); }

 private:
  std::shared_ptr<Tool> find_shared(std::string_view name) const;

  // shared_ptr: a call abandoned at its deadline keeps its tool (and a plugin's library)
  // alive until it returns, even if the registry is gone by then.
  std::vector<std::shared_ptr<Tool>> tools_;
  std::map<std::string, std::size_t, std::less<>> index_;
  mutable AbandonedCallLimit abandoned_;
};

// True if `name` is a valid OpenAI function name: [A-Za-z0-9_-]{1,64}.
bool is_valid_tool_name(std::string_view name);

}  // namespace toolgate::tools
