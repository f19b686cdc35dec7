#pragma once
// Seam between the gateway and the tools registry (tools/): tools the server runs itself inside
// the tool loop. The real implementation wraps tools::ToolRegistry (registry_toolbox.h).
#include <chrono>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace toolgate::gateway {

struct ServerToolOutcome {
  bool ok = false;
  std::string content;  // what goes into the tool message for the model (result or error text)
  std::string error;    // empty when ok
};

class ServerToolbox {
 public:
  virtual ~ServerToolbox() = default;
  virtual bool has(const std::string& name) const = 0;
  // OpenAI tool objects ({type:"function", function:{name, description, parameters}}).
  virtual nlohmann::json openai_tools_json(const std::vector<std::string>& names) const = 0;
  // Blocking; called on a worker thread, never on an I/O thread.
  virtual ServerToolOutcome invoke(const std::string& name, const nlohmann::json& arguments,
                                   std::chrono::milliseconds timeout) const = 0;
};

}  // namespace toolgate::gateway
