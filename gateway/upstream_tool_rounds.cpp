#include "gateway/upstream_tool_rounds.h"

#include "gateway/server_toolbox.h"

namespace toolgate::gateway {
namespace {

using nlohmann::json;
using ojson = nlohmann::ordered_json;

// The value of `key` in `object`; null counts as absent, as in the request parser.
template <class J>
const J* field(const J& object, const char* key) {
  if (!object.is_object()) return nullptr;
  auto it = object.find(key);
  return it == object.end() || it->is_null() ? nullptr : &*it;
}

// The name of a tool declared by name only ({"type":"function","function":{"name":"x"}}), or "".
std::string name_only_declaration(const ojson& tool) {
  const ojson* fn = field(tool, "function");
  if (!fn) return "";
  const ojson* name = field(*fn, "name");
  if (!name || !name->is_string() || field(*fn, "description") || field(*fn, "parameters"))
    return "";
  return name->get<std::string>();
}

std::string declared_name(const ojson& tool) {
  const ojson* fn = field(tool, "function");
  const ojson* name = fn ? field(*fn, "name") : nullptr;
  return name && name->is_string() ? name->get<std::string>() : "";
}

std::optional<int> int_field(const ojson& body, const char* key) {
  const ojson* v = field(body, key);
  if (!v || !v->is_number_integer()) return std::nullopt;
  return v->get<int>();
}

int int_or_zero(const json& object, const char* key) {
  const json* v = field(object, key);
  return v && v->is_number_integer() ? v->get<int>() : 0;
}

}  // namespace

std::variant<UpstreamToolPlan, ApiError> plan_upstream_tools(const UpstreamChatRequest& request,
                                                             const ServedModel& model,
                                                             const ServerToolbox* toolbox) {
  UpstreamToolPlan plan;
  const ojson& body = request.body;
  if (const ojson* so = field(body, "stream_options")) {
    const ojson* iu = field(*so, "include_usage");
    plan.include_usage = iu && iu->is_boolean() && iu->get<bool>();
  }
  // tool_choice "none": no tool is offered, server tools included (OpenAI semantics).
  bool choice_none = false;
  if (const ojson* tc = field(body, "tool_choice")) {
    if (tc->is_string()) {
      choice_none = *tc == "none";
      plan.forced_first_round = *tc == "required";
    } else if (tc->is_object()) {
      plan.forced_first_round = true;
    }
  }
  const ojson* req_tools = field(body, "tools");
  if (!toolbox || (req_tools && !req_tools->is_array())) return plan;  // the upstream judges

  ojson tools = ojson::array();
  std::set<std::string> declared;  // client tools (with a schema)
  std::set<std::string> defined;   // server tools whose definitions go upstream
  if (req_tools) {
    for (const auto& t : *req_tools) {
      std::string name = name_only_declaration(t);
      if (!name.empty() && toolbox->has(name)) {
        // Even under "none" the declaration is completed: the upstream would refuse a tool
        // without a schema.
        defined.insert(name);
        if (!choice_none) plan.server_tools.insert(name);
        continue;
      }
      if (std::string n = declared_name(t); !n.empty()) declared.insert(std::move(n));
      tools.push_back(t);
    }
  }
  if (!choice_none) {
    for (const auto& name : model.server_tools) {
      // A client tool of the same name wins: the client asked to handle it.
      if (!declared.count(name) && toolbox->has(name)) {
        plan.server_tools.insert(name);
        defined.insert(name);
      }
    }
  }
  if (defined.empty()) return plan;
  for (auto& t : json(toolbox->openai_tools_json({defined.begin(), defined.end()})))
    tools.push_back(ojson(t));
  plan.tools = std::move(tools);
  if (plan.server_tools.empty()) return plan;

  if (auto n = int_field(body, "n"); n && *n > 1)
    return ApiError::invalid_request(
        "n > 1 is not supported when server tools run for an upstream model.", "n");
  const ojson* messages = field(body, "messages");
  if (!messages || !messages->is_array())
    return ApiError::invalid_request("'messages' must be an array.", "messages");
  if (auto m = int_field(body, "max_completion_tokens")) {
    plan.max_tokens = m;
    plan.max_tokens_key = "max_completion_tokens";
  } else if (auto t = int_field(body, "max_tokens")) {
    plan.max_tokens = t;
  } else {
    plan.max_tokens = model.sampling.max_tokens;
  }
  return plan;
}

std::string upstream_round_body(const UpstreamChatRequest& request, const UpstreamToolPlan& plan,
                                const ojson& messages, int round,
                                std::optional<int> max_tokens_left, const std::string& remote_model,
                                const SamplingDefaults& defaults) {
  UpstreamChatRequest r;
  r.body = request.body;
  ojson& b = r.body;
  b["messages"] = messages;
  if (!plan.tools.is_null()) b["tools"] = plan.tools;
  // Rounds are asked for whole: the gateway must see every call before it can run any.
  b["stream"] = false;
  b.erase("stream_options");  // OpenAI-compatible servers refuse it without stream
  if (round > 1 && plan.forced_first_round) b["tool_choice"] = "auto";
  if (plan.max_tokens && max_tokens_left) {
    b[plan.max_tokens_key] = *max_tokens_left;
    // Both given: the upstream must not see the original, larger one either.
    for (const char* key : {"max_tokens", "max_completion_tokens"})
      if (field(b, key)) b[key] = *max_tokens_left;
  }
  return upstream_request_body(r, remote_model, defaults);
}

std::optional<UpstreamRound> parse_upstream_round(std::string_view body, std::string* error) {
  auto fail = [&](const char* why) -> std::optional<UpstreamRound> {
    if (error) *error = why;
    return std::nullopt;
  };
  json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return fail("the answer is not a JSON object");
  const json* choices = field(j, "choices");
  if (!choices || !choices->is_array() || choices->empty() || !(*choices)[0].is_object())
    return fail("the answer has no choices");
  const json& choice = (*choices)[0];
  const json* message = field(choice, "message");
  if (!message || !message->is_object()) return fail("the answer's choice has no message");

  UpstreamRound r;
  if (const json* content = field(*message, "content")) {
    if (content->is_string()) {
      r.content = content->get<std::string>();
    } else if (content->is_array()) {  // content parts: keep the text
      for (const auto& part : *content)
        if (const json* text = field(part, "text"); text && text->is_string())
          r.content += text->get<std::string>();
    }
  }
  if (const json* calls = field(*message, "tool_calls")) {
    if (!calls->is_array()) return fail("tool_calls is not an array");
    for (const auto& c : *calls) {
      const json* fn = field(c, "function");
      const json* name = fn ? field(*fn, "name") : nullptr;
      if (!name || !name->is_string()) return fail("a tool call has no function name");
      ToolCall call;
      const json* id = field(c, "id");
      call.id = id && id->is_string() && !id->get<std::string>().empty() ? id->get<std::string>()
                                                                         : make_tool_call_id();
      call.name = name->get<std::string>();
      if (const json* args = field(*fn, "arguments"))
        call.arguments = args->is_string() ? args->get<std::string>() : dump_json(*args);
      r.tool_calls.push_back(std::move(call));
    }
  }
  const json* finish = field(choice, "finish_reason");
  if (finish && finish->is_string())
    r.finish_reason = finish->get<std::string>();
  else if (!r.tool_calls.empty())
    r.finish_reason = "tool_calls";
  if (const json* usage = field(j, "usage")) {
    r.usage.prompt_tokens = int_or_zero(*usage, "prompt_tokens");
    r.usage.completion_tokens = int_or_zero(*usage, "completion_tokens");
    if (const json* details = field(*usage, "prompt_tokens_details"))
      r.usage.cached_tokens = int_or_zero(*details, "cached_tokens");
  }
  if (const json* lp = field(choice, "logprobs")) {
    if (const json* content = field(*lp, "content"); content && content->is_array())
      r.logprobs_content = *content;
  }
  return r;
}

void append_tool_round(ojson& messages, const std::string& content,
                       const std::vector<ToolRun>& runs) {
  ojson calls = ojson::array();
  for (const auto& r : runs)
    calls.push_back({{"id", r.id},
                     {"type", "function"},
                     {"function", {{"name", r.name}, {"arguments", r.arguments}}}});
  messages.push_back({{"role", "assistant"},
                      {"content", content.empty() ? ojson(nullptr) : ojson(content)},
                      {"tool_calls", std::move(calls)}});
  for (const auto& r : runs)
    messages.push_back({{"role", "tool"}, {"tool_call_id", r.id}, {"content", r.output}});
}

}  // namespace toolgate::gateway
