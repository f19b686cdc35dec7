// Picks the tool-call dialect for a model: an explicit override from config wins; otherwise
// the chat template's own instructions tell which format the model was trained on.
#include <stdexcept>
#include <string>

#include "engine/tool_dialect.h"

namespace toolgate::engine {
namespace tool_dialects {
std::unique_ptr<ToolDialect> make_hermes_dialect();
std::unique_ptr<ToolDialect> make_llama3_json_dialect();
std::unique_ptr<ToolDialect> make_generic_dialect();
}  // namespace tool_dialects

std::unique_ptr<ToolDialect> make_tool_dialect(std::string_view chat_template, std::string_view architecture,
                                               std::optional<std::string_view> override_name) {
  using namespace tool_dialects;
  if (override_name) {
    if (*override_name == "hermes") return make_hermes_dialect();
    if (*override_name == "llama3_json") return make_llama3_json_dialect();
    if (*override_name == "generic") return make_generic_dialect();
    throw std::invalid_argument("unknown tool dialect '" + std::string(*override_name) +
                                "' (expected hermes, llama3_json or generic)");
  }
  auto has = [&](std::string_view s) { return chat_template.find(s) != std::string_view::npos; };
  // Qwen2.5/Qwen3, Hermes 2 Pro/3, SmolLM3-with-tools and others teach <tool_call> tags.
  if (has("<tool_call>")) return make_hermes_dialect();
  // Llama 3.1 mentions <|python_tag|>; Llama 3.2/3.3 ask for {"name": ..., "parameters": ...}.
  if (has("<|python_tag|>") || (has("<|start_header_id|>") && has("\"parameters\": dictionary of argument name")))
    return make_llama3_json_dialect();
  if (architecture == "qwen2" || architecture == "qwen3" || architecture == "qwen2moe" || architecture == "qwen3moe")
    return make_hermes_dialect();
  return make_generic_dialect();
}

}  // namespace toolgate::engine
