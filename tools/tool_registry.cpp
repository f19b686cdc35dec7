#include "tools/tool_registry.h"

#include <stdexcept>

#include "tools/json_schema.h"

namespace toolgate::tools {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

std::string safe_dump(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

// The arguments object out of what the model sent, or an error message.
bool parse_arguments(const json& args_or_string, json& out, std::string& error) {
  if (args_or_string.is_null()) {
    out = json::object();
    return true;
  }
  if (!args_or_string.is_string()) {
    out = args_or_string;
  } else {
    const auto& text = args_or_string.get_ref<const std::string&>();
    if (text.find_first_not_of(" \t\r\n") == std::string::npos) {
      out = json::object();  // some models send "" for a tool without parameters
      return true;
    }
    try {
      out = json::parse(text);
    } catch (const json::exception& e) {
      error = std::string("arguments are not valid JSON: ") + e.what();
      return false;
    }
  }
  if (!out.is_object()) {
    error = "arguments must be a JSON object, got " + json_type_name(out);
    return false;
  }
  return true;
}

}  // namespace

std::string ToolResult::as_content() const {
  if (ok) return safe_dump(value);
  return safe_dump(json{{"error", error}});
}

bool is_valid_tool_name(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

ToolRegistry::ToolRegistry(int max_abandoned_calls) : abandoned_(max_abandoned_calls) {}
ToolRegistry::~ToolRegistry() = default;

void ToolRegistry::add(std::unique_ptr<Tool> tool) {
  if (!tool) throw std::invalid_argument("cannot add a null tool");
  const ToolSpec& spec = tool->spec();
  if (!is_valid_tool_name(spec.name)) {
    throw std::invalid_argument("invalid tool name '" + spec.name +
                                "': must match [A-Za-z0-9_-]{1,64}");
  }
  if (index_.count(spec.name) != 0) {
    throw std::invalid_argument("a tool named '" + spec.name + "' is already registered");
  }
  if (!spec.parameters.is_object() && !spec.parameters.is_null()) {
    throw std::invalid_argument("tool '" + spec.name +
                                "': parameters must be a JSON schema object, got " +
                                json_type_name(spec.parameters));
  }
  index_.emplace(spec.name, tools_.size());
  tools_.push_back(std::shared_ptr<Tool>(std::move(tool)));
}

std::shared_ptr<Tool> ToolRegistry::find_shared(std::string_view name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : tools_[it->second];
}

const Tool* ToolRegistry::find(std::string_view name) const { return find_shared(name).get(); }

std::vector<const ToolSpec*> ToolRegistry::list() const {
  std::vector<const ToolSpec*> out;
  out.reserve(tools_.size());
  for (const auto& t : tools_) out.push_back(&t->spec());
  return out;
}

ToolResult ToolRegistry::invoke(std::string_view name, const nlohmann::json& args_or_string,
                                std::chrono::milliseconds timeout) const {
  const auto start = Clock::now();
  ToolResult result;
  auto finish = [&](ToolResult& r) -> ToolResult {
    r.elapsed = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start);
    return std::move(r);
  };
  try {
    std::shared_ptr<Tool> tool = find_shared(name);
    if (!tool) {
      result.error = "unknown tool '" + std::string(name) + "'";
      return finish(result);
    }
    const ToolSpec& spec = tool->spec();
    json args;
    std::string error;
    if (!parse_arguments(args_or_string, args, error)) {
      result.error = "tool '" + spec.name + "': " + error;
      return finish(result);
    }
    if (auto violations = validate_json(spec.parameters, args); !violations.empty()) {
      result.error = "tool '" + spec.name + "': invalid arguments: " + describe(violations);
      return finish(result);
    }
    // The worker owns copies of everything it touches (see deadline_call.h).
    CallOutcome outcome = call_with_deadline(
        [tool, args = std::move(args)] { return tool->invoke(args); }, timeout, abandoned_);
    if (outcome.status == CallOutcome::Status::kOk) {
      result.ok = true;
      result.value = std::move(outcome.value);
    } else if (outcome.status == CallOutcome::Status::kTimedOut) {
      result.error = "tool '" + spec.name + "' " + outcome.error;
    } else if (outcome.status == CallOutcome::Status::kRejected) {
      result.error = "tool '" + spec.name + "' was not run: " + outcome.error;
    } else {
      result.error = "tool '" + spec.name + "' failed: " + outcome.error;
    }
  } catch (const std::exception& e) {  // e.g. bad_alloc while copying arguments
    result.ok = false;
    result.error = "tool '" + std::string(name) + "' failed: " + e.what();
  }
  return finish(result);
}

nlohmann::json ToolRegistry::openai_tools_json(const std::vector<std::string>& names) const {
  json out = json::array();
  for (const auto& name : names) {
    const Tool* tool = find(name);
    if (!tool) throw std::invalid_argument("unknown tool '" + name + "'");
    const ToolSpec& spec = tool->spec();
    json parameters = spec.parameters.is_null()
                          ? json{{"type", "object"}, {"properties", json::object()}}
                          : spec.parameters;
    out.push_back({{"type", "function"},
                   {"function",
                    {{"name", spec.name},
                     {"description", spec.description},
                     {"parameters", std::move(parameters)}}}});
  }
  return out;
}

nlohmann::json ToolRegistry::openai_tools_json() const {
  std::vector<std::string> names;
  names.reserve(tools_.size());
  for (const auto& t : tools_) names.push_back(t->spec().name);
  return openai_tools_json(names);
}

}  // namespace toolgate::tools
