#pragma once
// Seam between the gateway and the chat template engine: turns an OpenAI-shaped conversation into
// the prompt text the model was trained on. The real implementation wraps engine::ChatTemplate
// (chat_template_renderer.h); tests use a tiny ChatML renderer.
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>

namespace toolgate::gateway {

// Thrown by render() when the template rejects the conversation (raise_exception in Jinja):
// the client sent something the model cannot take, so it becomes a 400.
class PromptRenderError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class PromptRenderer {
 public:
  virtual ~PromptRenderer() = default;
  // messages: [{role, content (string|null), tool_calls?, tool_call_id?, name?}]
  // tools: null or an array of OpenAI tool objects ({type:"function", function:{...}}).
  // Ordered JSON: templates print schemas and arguments with tojson, and models were trained
  // on the key order the tool author wrote, not on sorted keys.
  virtual std::string render(const nlohmann::ordered_json& messages,
                             const nlohmann::ordered_json& tools,
                             bool add_generation_prompt) const = 0;
};

}  // namespace toolgate::gateway
