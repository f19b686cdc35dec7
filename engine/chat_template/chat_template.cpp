#include "engine/chat_template.h"

#include "engine/chat_template/interpreter.h"
#include "engine/chat_template/lexer.h"
#include "engine/chat_template/parser.h"

namespace toolgate::engine {

namespace chat_template_detail {
struct Program {
  jinja::ParsedTemplate parsed;
};
}  // namespace chat_template_detail

namespace {

using nlohmann::json;

template <typename Json>
std::string join_text_parts(const Json& parts) {
  std::string text;
  for (const auto& p : parts) {
    if (!p.is_object() || p.value("type", "") != "text" || !p.contains("text") || !p["text"].is_string()) continue;
    if (!text.empty()) text += '\n';
    text += p["text"].template get<std::string>();
  }
  return text;
}

// Brings OpenAI-shaped messages into the form HF chat templates were written against.
template <typename Json>
Json normalize_messages(const Json& messages, bool object_arguments) {
  if (!messages.is_array()) throw TemplateError("messages must be an array");
  Json out = Json::array();
  for (const auto& m : messages) {
    Json msg = m;
    if (msg.is_object()) {
      if (msg.contains("content")) {
        if (msg["content"].is_null()) msg["content"] = "";
        else if (msg["content"].is_array()) msg["content"] = join_text_parts(msg["content"]);
      }
      if (msg.contains("tool_calls") && msg["tool_calls"].is_array()) {
        for (auto& call : msg["tool_calls"]) {
          if (!call.is_object() || !call.contains("function") || !call["function"].is_object()) continue;
          auto& fn = call["function"];
          if (!fn.contains("arguments")) continue;
          auto& args = fn["arguments"];
          if (object_arguments && args.is_string()) {
            Json parsed = Json::parse(args.template get<std::string>(), nullptr, false);
            if (!parsed.is_discarded()) args = parsed;
          } else if (!object_arguments && !args.is_string()) {
            args = jinja::Value::from_json(args).to_json_text();
          }
        }
      }
    }
    out.push_back(std::move(msg));
  }
  return out;
}

bool contains(const std::string& haystack, const char* needle) { return haystack.find(needle) != std::string::npos; }

}  // namespace

ChatTemplate::~ChatTemplate() = default;

std::unique_ptr<ChatTemplate> ChatTemplate::create(std::string source, ChatTemplateOptions opts) {
  std::unique_ptr<ChatTemplate> t(new ChatTemplate());
  t->program_ = std::make_unique<chat_template_detail::Program>();
  t->program_->parsed = jinja::parse(jinja::tokenize(source));
  t->source_ = std::move(source);
  t->opts_ = std::move(opts);
  t->supports_tools_ = t->program_->parsed.referenced_names.count("tools") > 0;

  // Does this template render tool-call arguments given as an object (and so expects the
  // OpenAI argument strings to be parsed), or does it print them as they come?
  if (contains(t->source_, "tool_calls")) {
    auto probe = [&](bool object_args) {
      json args = json{{"code", "print('Hello, World!')"}};
      json call = {{"id", "call_1"}, {"type", "function"},
                   {"function", {{"name", "ipython"}, {"arguments", object_args ? args : json(args.dump(-1))}}}};
      json messages = json::array({json{{"role", "user"}, {"content", "Hey"}},
                                   json{{"role", "assistant"}, {"content", ""}, {"tool_calls", json::array({call})}}});
      t->object_arguments_ = object_args;
      try {
        return t->render(messages, nullptr, false);
      } catch (const std::exception&) {
        return std::string();
      }
    };
    std::string with_string = probe(false);
    std::string with_object = probe(true);
    const char* marker = "\"code\": \"print";
    const char* compact_marker = "\"code\":\"print";
    bool string_ok = contains(with_string, marker) || contains(with_string, compact_marker);
    bool object_ok = contains(with_object, marker) || contains(with_object, compact_marker);
    t->object_arguments_ = object_ok || !string_ok;
  }
  return t;
}

std::string ChatTemplate::render(const json& messages, const json& tools, bool add_generation_prompt,
                                 const json& extra) const {
  return render_impl(messages, tools, add_generation_prompt, extra);
}

std::string ChatTemplate::render_ordered(const nlohmann::ordered_json& messages, const nlohmann::ordered_json& tools,
                                 bool add_generation_prompt, const nlohmann::ordered_json& extra) const {
  return render_impl(messages, tools, add_generation_prompt, extra);
}

template <typename Json>
std::string ChatTemplate::render_impl(const Json& messages, const Json& tools, bool add_generation_prompt,
                                      const Json& extra) const {
  jinja::Object vars;
  if (extra.is_object())
    for (auto it = extra.begin(); it != extra.end(); ++it) vars.set(it.key(), jinja::Value::from_json(it.value()));
  vars.set("messages", jinja::Value::from_json(normalize_messages(messages, object_arguments_)));
  vars.set("tools", jinja::Value::from_json(tools));
  vars.set("add_generation_prompt", jinja::Value(add_generation_prompt));
  vars.set("bos_token", jinja::Value(opts_.bos_token));
  vars.set("eos_token", jinja::Value(opts_.eos_token));
  return jinja::render_template(program_->parsed, vars);
}

}  // namespace toolgate::engine
