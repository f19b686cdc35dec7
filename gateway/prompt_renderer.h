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
  virtual std::string render(const nlohmann::json& messages, const nlohmann::json& tools,
                             bool add_generation_prompt) const = 0;
};

}  // namespace toolgate::gateway
