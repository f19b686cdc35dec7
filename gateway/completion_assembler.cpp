#include "gateway/completion_assembler.h"

namespace toolgate::gateway {

using nlohmann::json;

namespace {

std::string string_or(const json& j, const char* key, std::string fallback = {}) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : fallback;
}

}  // namespace

void CompletionAssembler::add_chunk(const json& chunk) {
  if (!chunk.is_object()) return;
  if (chunk.contains("error")) {
    failed_ = true;
    return;
  }
  if (id_.empty()) id_ = string_or(chunk, "id");
  if (model_.empty()) model_ = string_or(chunk, "model");
  if (system_fingerprint_.empty()) system_fingerprint_ = string_or(chunk, "system_fingerprint");
  if (auto it = chunk.find("created"); it != chunk.end() && it->is_number_integer())
    created_ = it->get<int64_t>();
  if (auto it = chunk.find("usage"); it != chunk.end() && it->is_object()) usage_ = *it;
  auto choices = chunk.find("choices");
  if (choices == chunk.end() || !choices->is_array()) return;
  for (const auto& c : *choices) {
    if (!c.is_object()) continue;
    int index = c.value("index", 0);
    Choice& choice = choices_[index];
    if (auto fr = c.find("finish_reason"); fr != c.end() && fr->is_string())
      choice.finish_reason = *fr;
    auto delta = c.find("delta");
    if (delta == c.end() || !delta->is_object()) continue;
    if (auto role = string_or(*delta, "role"); !role.empty()) choice.role = role;
    if (auto it = delta->find("content"); it != delta->end() && it->is_string()) {
      if (!choice.content) choice.content.emplace();
      *choice.content += it->get_ref<const std::string&>();
    }
    if (auto it = delta->find("tool_calls"); it != delta->end() && it->is_array()) {
      for (const auto& tc : *it) {
        if (!tc.is_object()) continue;
        ToolCallParts& parts = choice.tool_calls[tc.value("index", 0)];
        if (auto id = string_or(tc, "id"); !id.empty()) parts.id = id;
        if (auto type = string_or(tc, "type"); !type.empty()) parts.type = type;
        if (auto fn = tc.find("function"); fn != tc.end() && fn->is_object()) {
          if (auto name = string_or(*fn, "name"); !name.empty()) parts.name += name;
          parts.arguments += string_or(*fn, "arguments");
        }
      }
    }
    if (auto it = delta->find("toolgate_tool_runs"); it != delta->end() && it->is_array()) {
      for (const auto& run : *it) choice.tool_runs.push_back(run);
    }
  }
}

json CompletionAssembler::completion() const {
  json choices = json::array();
  for (const auto& [index, c] : choices_) {
    json message = {{"role", c.role},
                    {"content", c.content ? json(*c.content) : json(nullptr)},
                    {"refusal", nullptr}};
    if (!c.tool_calls.empty()) {
      json calls = json::array();
      for (const auto& [_, tc] : c.tool_calls) {
        calls.push_back({{"id", tc.id},
                         {"type", tc.type},
                         {"function", {{"name", tc.name}, {"arguments", tc.arguments}}}});
      }
      message["tool_calls"] = std::move(calls);
    }
    if (!c.tool_runs.empty()) message["toolgate_tool_runs"] = c.tool_runs;
    choices.push_back({{"index", index},
                       {"message", std::move(message)},
                       {"logprobs", nullptr},
                       {"finish_reason", c.finish_reason}});
  }
  json out = {{"id", id_},       {"object", "chat.completion"},   {"created", created_},
              {"model", model_}, {"choices", std::move(choices)}, {"usage", usage_}};
  if (!system_fingerprint_.empty()) out["system_fingerprint"] = system_fingerprint_;
  return out;
}

}  // namespace toolgate::gateway
