#pragma once
// ServerToolbox over the tools/ registry: the tools the gateway runs itself.
#include "gateway/server_toolbox.h"
#include "tools/tool_registry.h"

namespace toolgate::gateway {

class RegistryToolbox final : public ServerToolbox {
 public:
  explicit RegistryToolbox(const tools::ToolRegistry& registry) : registry_(registry) {}

  bool has(const std::string& name) const override { return registry_.contains(name); }
  nlohmann::json openai_tools_json(const std::vector<std::string>& names) const override;
  ServerToolOutcome invoke(const std::string& name, const nlohmann::json& arguments,
                           std::chrono::milliseconds timeout) const override;

 private:
  const tools::ToolRegistry& registry_;
};

}  // namespace toolgate::gateway
