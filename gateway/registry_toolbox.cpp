#include "gateway/registry_toolbox.h"

namespace toolgate::gateway {

nlohmann::json RegistryToolbox::openai_tools_json(const std::vector<std::string>& names) const {
  // Unknown names are skipped rather than thrown: the plan only asks for names has() accepted.
  std::vector<std::string> known;
  for (const auto& n : names)
    if (registry_.contains(n)) known.push_back(n);
  return registry_.openai_tools_json(known);
}

ServerToolOutcome RegistryToolbox::invoke(const std::string& name, const nlohmann::json& arguments,
                                          std::chrono::milliseconds timeout) const {
  tools::ToolResult r = registry_.invoke(name, arguments, timeout);
  // The model sees as_content() either way: the value, or {"error": ...} it can react to.
  return ServerToolOutcome{r.ok, r.as_content(), r.error};
}

}  // namespace toolgate::gateway
