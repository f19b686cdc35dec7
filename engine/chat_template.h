#pragma once
// Renders a model's Jinja chat template (tokenizer.chat_template) the way Hugging Face
// transformers does: Jinja2 semantics with trim_blocks and lstrip_blocks on, HF's tojson
// (json.dumps spacing, no ASCII escaping), raise_exception and strftime_now.
#include <memory>
#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

namespace toolgate::engine {

// Parse errors carry "line:column: message"; render errors carry the position of the
// expression or statement that failed when known.
class TemplateError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct ChatTemplateOptions {
  std::string bos_token;
  std::string eos_token;
};

namespace chat_template_detail {
struct Program;
}

class ChatTemplate {
 public:
  // Parses once; throws TemplateError on a syntax error.
  static std::unique_ptr<ChatTemplate> create(std::string source, ChatTemplateOptions opts);
  ~ChatTemplate();

  // messages/tools in OpenAI shapes. Before rendering, messages are normalised the way
  // serving stacks feed HF templates: null content becomes "", text content parts are joined
  // with "\n", and tool-call arguments are turned into objects (or JSON strings) according
  // to what this template renders correctly (probed once at create()). tools may be null
  // (the template then sees `tools` = none). `extra` adds variables such as enable_thinking.
  std::string render(const nlohmann::json& messages, const nlohmann::json& tools, bool add_generation_prompt,
                     const nlohmann::json& extra = nlohmann::json::object()) const;
  // Same, keeping the caller's key order. nlohmann::json sorts object keys, but templates
  // print tool schemas with `tojson` and models were trained on the order the tool author
  // wrote ("type", "function", "name", "description", "parameters"): the gateway should parse
  // requests into ordered_json and call this overload.
  std::string render_ordered(const nlohmann::ordered_json& messages, const nlohmann::ordered_json& tools,
                             bool add_generation_prompt,
                             const nlohmann::ordered_json& extra = nlohmann::ordered_json::object()) const;

  // True when the template references the `tools` variable.
  bool supports_tools() const { return supports_tools_; }
  // True when the template renders tool-call arguments given as objects (Qwen, Hermes, ...).
  bool wants_object_arguments() const { return object_arguments_; }
  const std::string& source() const { return source_; }

 private:
  ChatTemplate() = default;
  template <typename Json>
  std::string render_impl(const Json& messages, const Json& tools, bool add_generation_prompt,
                          const Json& extra) const;
  std::string source_;
  ChatTemplateOptions opts_;
  std::unique_ptr<chat_template_detail::Program> program_;
  bool supports_tools_ = false;
  bool object_arguments_ = true;
};

}  // namespace toolgate::engine
