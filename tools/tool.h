#pragma once
// A tool the server can execute itself when the model asks for it.
#include <nlohmann/json.hpp>
#include <string>

namespace toolgate::tools {

// What the model is told about a tool (rendered into the OpenAI `tools` array).
struct ToolSpec {
  std::string name;  // OpenAI function name: [A-Za-z0-9_-]{1,64}
  std::string description;
  nlohmann::json parameters;  // JSON schema of the arguments object (see json_schema.h)
};

class Tool {
 public:
  virtual ~Tool() = default;
  virtual const ToolSpec& spec() const = 0;
  // `arguments` has already been validated against spec().parameters by the registry.
  // Returns the result value; throws (any std::exception) on failure, the message is shown
  // to the model. May be called concurrently from several threads, and a call the registry
  // gave up on (timeout) may still be running when the next one starts.
  virtual nlohmann::json invoke(const nlohmann::json& arguments) = 0;
};

}  // namespace toolgate::tools
