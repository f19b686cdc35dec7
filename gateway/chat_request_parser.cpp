// Parses a chat completion body into ChatCompletionRequest. Error texts follow the OpenAI API's
// wording ("Invalid type for 'temperature': expected a number, but got a string instead.") and
// every error names its parameter, so SDK users see which field to fix.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>
#include <string_view>

#include "gateway/chat_request.h"

namespace toolgate::gateway {
namespace {

// Ordered: object keys keep the client's order (tool schemas are printed into prompts).
using json = nlohmann::ordered_json;

const char* json_kind(const json& v) {
  switch (v.type()) {
    case json::value_t::null:
      return "null";
    case json::value_t::boolean:
      return "a boolean";
    case json::value_t::string:
      return "a string";
    case json::value_t::array:
      return "an array";
    case json::value_t::object:
      return "an object";
    case json::value_t::number_float:
      return "a decimal";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
      return "an integer";
    default:
      return "an unknown value";
  }
}

std::string number_text(double v) {
  if (std::floor(v) == v && std::fabs(v) < 1e15) return std::to_string(static_cast<int64_t>(v));
  std::string s = json(v).dump();
  return s;
}

class Reader {
 public:
  explicit Reader(std::vector<ParamError>& errors) : errors_(errors) {}

  void error(std::string param, std::string message) {
    errors_.push_back({std::move(param), std::move(message)});
  }
  void type_error(const std::string& param, const char* expected, const json& got) {
    error(param, "Invalid type for '" + param + "': expected " + expected + ", but got " +
                     json_kind(got) + " instead.");
  }
  void missing(const std::string& param) {
    error(param, "Missing required parameter: '" + param + "'.");
  }

  // Fields given as null count as absent: several SDKs send explicit nulls for unset options.
  static const json* field(const json& obj, const char* key) {
    auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) return nullptr;
    return &*it;
  }

  std::optional<std::string> string(const json& obj, const char* key, const std::string& param) {
    const json* v = field(obj, key);
    if (!v) return std::nullopt;
    if (!v->is_string()) {
      type_error(param, "a string", *v);
      return std::nullopt;
    }
    return v->get<std::string>();
  }

  std::optional<bool> boolean(const json& obj, const char* key, const std::string& param) {
    const json* v = field(obj, key);
    if (!v) return std::nullopt;
    if (!v->is_boolean()) {
      type_error(param, "a boolean", *v);
      return std::nullopt;
    }
    return v->get<bool>();
  }

  std::optional<double> number(const json& obj, const char* key, const std::string& param,
                               double lo, double hi, bool lo_open = false) {
    const json* v = field(obj, key);
    if (!v) return std::nullopt;
    if (!v->is_number()) {
      type_error(param, "a number", *v);
      return std::nullopt;
    }
    double d = v->get<double>();
    if (!std::isfinite(d) || d < lo || (lo_open && d == lo)) {
      error(param, "Invalid '" + param + "': decimal below minimum value. Expected a value " +
                       (lo_open ? "> " : ">= ") + number_text(lo) + ", but got " + number_text(d) +
                       " instead.");
      return std::nullopt;
    }
    if (d > hi) {
      error(param, "Invalid '" + param + "': decimal above maximum value. Expected a value <= " +
                       number_text(hi) + ", but got " + number_text(d) + " instead.");
      return std::nullopt;
    }
    return d;
  }

  std::optional<int64_t> integer(const json& obj, const char* key, const std::string& param,
                                 int64_t lo, int64_t hi) {
    const json* v = field(obj, key);
    if (!v) return std::nullopt;
    // 2.0 is accepted as 2 (JavaScript has one number type); 2.5 is not.
    bool integral = v->is_number_integer() || v->is_number_unsigned() ||
                    (v->is_number_float() && std::floor(v->get<double>()) == v->get<double>() &&
                     std::fabs(v->get<double>()) < 9e15);
    if (!integral) {
      type_error(param, "an integer", *v);
      return std::nullopt;
    }
    if (v->is_number_unsigned() &&
        v->get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      error(param, "Invalid '" + param + "': integer above maximum value. Expected a value <= " +
                       std::to_string(hi) + ".");
      return std::nullopt;
    }
    int64_t i = v->is_number_float() ? static_cast<int64_t>(v->get<double>()) : v->get<int64_t>();
    if (i < lo) {
      error(param, "Invalid '" + param + "': integer below minimum value. Expected a value >= " +
                       std::to_string(lo) + ", but got " + std::to_string(i) + " instead.");
      return std::nullopt;
    }
    if (i > hi) {
      error(param, "Invalid '" + param + "': integer above maximum value. Expected a value <= " +
                       std::to_string(hi) + ", but got " + std::to_string(i) + " instead.");
      return std::nullopt;
    }
    return i;
  }

 private:
  std::vector<ParamError>& errors_;
};

bool valid_function_name(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.';
    if (!ok) return false;
  }
  return true;
}

// content: string | [{type:"text", text}] | null. Other part types are refused: this server
// runs text-only models.
std::optional<std::string> parse_content(Reader& r, const json& msg, const std::string& p,
                                         bool& present) {
  present = false;
  const json* c = Reader::field(msg, "content");
  if (!c) return std::nullopt;
  present = true;
  if (c->is_string()) return c->get<std::string>();
  if (!c->is_array()) {
    r.type_error(p + ".content", "a string or array", *c);
    return std::nullopt;
  }
  // Parts are joined with "\n", as vLLM and llama.cpp feed them to chat templates.
  std::string text;
  bool first_part = true;
  for (size_t i = 0; i < c->size(); ++i) {
    const json& part = (*c)[i];
    std::string pp = p + ".content[" + std::to_string(i) + "]";
    if (!part.is_object()) {
      r.type_error(pp, "an object", part);
      continue;
    }
    auto type = r.string(part, "type", pp + ".type");
    if (!type) {
      if (!Reader::field(part, "type")) r.missing(pp + ".type");
      continue;
    }
    if (*type != "text") {
      r.error(pp + ".type", "Invalid value: '" + *type +
                                "'. This model supports only content parts of type "
                                "'text'.");
      continue;
    }
    auto t = r.string(part, "text", pp + ".text");
    if (!t) {
      if (!Reader::field(part, "text")) r.missing(pp + ".text");
      continue;
    }
    if (!first_part) text += '\n';
    first_part = false;
    text += *t;
  }
  return text;
}

std::optional<Role> parse_role(std::string_view s) {
  if (s == "system") return Role::System;
  if (s == "developer") return Role::Developer;
  if (s == "user") return Role::User;
  if (s == "assistant") return Role::Assistant;
  if (s == "tool") return Role::Tool;
  return std::nullopt;
}

void parse_tool_calls(Reader& r, const json& msg, const std::string& p, ChatMessage& out) {
  const json* calls = Reader::field(msg, "tool_calls");
  if (!calls) return;
  if (!calls->is_array()) {
    r.type_error(p + ".tool_calls", "an array", *calls);
    return;
  }
  for (size_t i = 0; i < calls->size(); ++i) {
    const json& c = (*calls)[i];
    std::string cp = p + ".tool_calls[" + std::to_string(i) + "]";
    if (!c.is_object()) {
      r.type_error(cp, "an object", c);
      continue;
    }
    ToolCall call;
    auto id = r.string(c, "id", cp + ".id");
    if (!id && !Reader::field(c, "id")) r.missing(cp + ".id");
    call.id = id.value_or("");
    auto type = r.string(c, "type", cp + ".type");
    if (type && *type != "function")
      r.error(cp + ".type", "Invalid value: '" + *type + "'. Supported values are: 'function'.");
    const json* fn = Reader::field(c, "function");
    if (!fn) {
      r.missing(cp + ".function");
      continue;
    }
    if (!fn->is_object()) {
      r.type_error(cp + ".function", "an object", *fn);
      continue;
    }
    auto name = r.string(*fn, "name", cp + ".function.name");
    if (!name && !Reader::field(*fn, "name")) r.missing(cp + ".function.name");
    call.name = name.value_or("");
    // Arguments are a JSON string in the API; an object is accepted and re-serialized.
    const json* args = Reader::field(*fn, "arguments");
    if (!args) {
      call.arguments = "{}";
    } else if (args->is_string()) {
      call.arguments = args->get<std::string>();
    } else if (args->is_object()) {
      call.arguments = args->dump();
    } else {
      r.type_error(cp + ".function.arguments", "a string", *args);
    }
    out.tool_calls.push_back(std::move(call));
  }
}

void parse_messages(Reader& r, const json& body, ChatCompletionRequest& req) {
  const json* msgs = Reader::field(body, "messages");
  if (!msgs) {
    r.missing("messages");
    return;
  }
  if (!msgs->is_array()) {
    r.type_error("messages", "an array", *msgs);
    return;
  }
  if (msgs->empty()) {
    r.error("messages",
            "Invalid 'messages': empty array. Expected an array with minimum length "
            "1, but got an empty array instead.");
    return;
  }
  for (size_t i = 0; i < msgs->size(); ++i) {
    const json& m = (*msgs)[i];
    std::string p = "messages[" + std::to_string(i) + "]";
    if (!m.is_object()) {
      r.type_error(p, "an object", m);
      continue;
    }
    ChatMessage msg;
    auto role_text = r.string(m, "role", p + ".role");
    if (!role_text) {
      if (!Reader::field(m, "role")) r.missing(p + ".role");
      continue;
    }
    auto role = parse_role(*role_text);
    if (!role) {
      r.error(p + ".role", "Invalid value: '" + *role_text +
                               "'. Supported values are: 'system', 'developer', 'user', "
                               "'assistant', and 'tool'.");
      continue;
    }
    msg.role = *role;
    bool content_present = false;
    msg.content = parse_content(r, m, p, content_present);
    msg.name = r.string(m, "name", p + ".name");
    if (msg.role == Role::Assistant) {
      parse_tool_calls(r, m, p, msg);
      if (!content_present && msg.tool_calls.empty()) r.missing(p + ".content");
    } else if (!content_present) {
      r.missing(p + ".content");
    }
    if (msg.role == Role::Tool) {
      auto id = r.string(m, "tool_call_id", p + ".tool_call_id");
      if (!id && !Reader::field(m, "tool_call_id")) r.missing(p + ".tool_call_id");
      msg.tool_call_id = id.value_or("");
    }
    req.messages.push_back(std::move(msg));
  }
}

void parse_stop(Reader& r, const json& body, ChatCompletionRequest& req) {
  const json* stop = Reader::field(body, "stop");
  if (!stop) return;
  if (stop->is_string()) {
    if (!stop->get<std::string>().empty()) req.stop.push_back(stop->get<std::string>());
    return;
  }
  if (!stop->is_array()) {
    r.type_error("stop", "a string or array", *stop);
    return;
  }
  if (stop->size() > 4) {
    r.error("stop",
            "Invalid 'stop': array too long. Expected an array with maximum length 4, "
            "but got an array with length " +
                std::to_string(stop->size()) + " instead.");
    return;
  }
  for (size_t i = 0; i < stop->size(); ++i) {
    const json& s = (*stop)[i];
    if (!s.is_string()) {
      r.type_error("stop[" + std::to_string(i) + "]", "a string", s);
      continue;
    }
    if (!s.get<std::string>().empty()) req.stop.push_back(s.get<std::string>());
  }
}

void parse_logit_bias(Reader& r, const json& body, ChatCompletionRequest& req) {
  const json* lb = Reader::field(body, "logit_bias");
  if (!lb) return;
  if (!lb->is_object()) {
    r.type_error("logit_bias", "an object", *lb);
    return;
  }
  for (auto it = lb->begin(); it != lb->end(); ++it) {
    const std::string& key = it.key();
    std::string p = "logit_bias." + key;
    int64_t id = -1;
    bool ok =
        !key.empty() && key.size() <= 9 && key.find_first_not_of("0123456789") == std::string::npos;
    if (ok) id = std::stoll(key);
    if (!ok) {
      r.error("logit_bias", "Invalid key in 'logit_bias': '" + key +
                                "'. Keys must be token ids given as strings of digits.");
      continue;
    }
    if (!it->is_number()) {
      r.type_error(p, "a number", *it);
      continue;
    }
    double v = it->get<double>();
    if (!(v >= -100 && v <= 100)) {
      r.error(p, "Invalid 'logit_bias': bias for token " + key +
                     " must be between -100 and 100, but got " + number_text(v) + ".");
      continue;
    }
    req.logit_bias.emplace_back(static_cast<int32_t>(id), static_cast<float>(v));
  }
}

void parse_response_format(Reader& r, const json& body, ChatCompletionRequest& req) {
  const json* rf = Reader::field(body, "response_format");
  if (!rf) return;
  if (!rf->is_object()) {
    r.type_error("response_format", "an object", *rf);
    return;
  }
  auto type = r.string(*rf, "type", "response_format.type");
  if (!type) {
    if (!Reader::field(*rf, "type")) r.missing("response_format.type");
    return;
  }
  if (*type == "text") {
    req.response_format = ResponseFormat::Text;
  } else if (*type == "json_object") {
    req.response_format = ResponseFormat::JsonObject;
  } else if (*type == "json_schema") {
    const json* js = Reader::field(*rf, "json_schema");
    if (!js) return r.missing("response_format.json_schema");
    if (!js->is_object()) return r.type_error("response_format.json_schema", "an object", *js);
    JsonSchemaFormat f;
    auto name = r.string(*js, "name", "response_format.json_schema.name");
    if (!name) {
      if (!Reader::field(*js, "name")) r.missing("response_format.json_schema.name");
      return;
    }
    // OpenAI's rule for the name: letters, digits, '_' and '-', at most 64.
    const bool name_ok =
        !name->empty() && name->size() <= 64 &&
        std::all_of(name->begin(), name->end(), [](char c) {
          return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
        });
    if (!name_ok)
      return r.error("response_format.json_schema.name",
                     "Invalid 'response_format.json_schema.name': string does not match pattern. "
                     "Expected a string of letters, digits, underscores and dashes, at most 64 "
                     "long.");
    f.name = *name;
    f.description = r.string(*js, "description", "response_format.json_schema.description");
    if (const json* schema = Reader::field(*js, "schema")) {
      if (!schema->is_object())
        return r.type_error("response_format.json_schema.schema", "an object", *schema);
      f.schema = *schema;
    }
    f.strict = r.boolean(*js, "strict", "response_format.json_schema.strict").value_or(false);
    req.response_format = ResponseFormat::JsonSchema;
    req.json_schema = std::move(f);
  } else {
    r.error("response_format.type", "Invalid value: '" + *type +
                                        "'. Supported values are: 'text', 'json_object' and "
                                        "'json_schema'.");
  }
}

void parse_tools(Reader& r, const json& body, ChatCompletionRequest& req) {
  const json* tools = Reader::field(body, "tools");
  if (!tools) return;
  if (!tools->is_array()) {
    r.type_error("tools", "an array", *tools);
    return;
  }
  for (size_t i = 0; i < tools->size(); ++i) {
    const json& t = (*tools)[i];
    std::string p = "tools[" + std::to_string(i) + "]";
    if (!t.is_object()) {
      r.type_error(p, "an object", t);
      continue;
    }
    auto type = r.string(t, "type", p + ".type");
    if (!type) {
      if (!Reader::field(t, "type")) r.missing(p + ".type");
      continue;
    }
    if (*type != "function") {
      r.error(p + ".type", "Invalid value: '" + *type + "'. Supported values are: 'function'.");
      continue;
    }
    const json* fn = Reader::field(t, "function");
    if (!fn) {
      r.missing(p + ".function");
      continue;
    }
    if (!fn->is_object()) {
      r.type_error(p + ".function", "an object", *fn);
      continue;
    }
    FunctionTool tool;
    auto name = r.string(*fn, "name", p + ".function.name");
    if (!name) {
      if (!Reader::field(*fn, "name")) r.missing(p + ".function.name");
      continue;
    }
    if (!valid_function_name(*name)) {
      r.error(p + ".function.name",
              "Invalid 'tools[" + std::to_string(i) +
                  "].function.name': string does not match "
                  "pattern. Expected a string that matches the pattern '^[a-zA-Z0-9_.-]{1,64}$'.");
      continue;
    }
    tool.name = *name;
    tool.description = r.string(*fn, "description", p + ".function.description");
    if (const json* params = Reader::field(*fn, "parameters")) {
      if (!params->is_object())
        r.type_error(p + ".function.parameters", "an object", *params);
      else
        tool.parameters = *params;
    }
    tool.strict = r.boolean(*fn, "strict", p + ".function.strict").value_or(false);
    for (const auto& other : req.tools) {
      if (other.name == tool.name)
        r.error(p + ".function.name",
                "Invalid 'tools': duplicate function name '" + tool.name + "'.");
    }
    req.tools.push_back(std::move(tool));
  }
}

void parse_tool_choice(Reader& r, const json& body, ChatCompletionRequest& req) {
  const json* tc = Reader::field(body, "tool_choice");
  if (!tc) return;
  ToolChoice choice;
  if (tc->is_string()) {
    const auto& s = tc->get_ref<const std::string&>();
    if (s == "none") {
      choice.mode = ToolChoice::Mode::None;
    } else if (s == "auto") {
      choice.mode = ToolChoice::Mode::Auto;
    } else if (s == "required") {
      choice.mode = ToolChoice::Mode::Required;
    } else {
      r.error("tool_choice",
              "Invalid value: '" + s + "'. Supported values are: 'none', 'auto' and 'required'.");
      return;
    }
  } else if (tc->is_object()) {
    auto type = r.string(*tc, "type", "tool_choice.type");
    if (type && *type != "function") {
      r.error("tool_choice.type", "Invalid value: '" + *type +
                                      "'. Supported values are: "
                                      "'function'.");
      return;
    }
    const json* fn = Reader::field(*tc, "function");
    if (!fn || !fn->is_object()) {
      if (!fn)
        r.missing("tool_choice.function");
      else
        r.type_error("tool_choice.function", "an object", *fn);
      return;
    }
    auto name = r.string(*fn, "name", "tool_choice.function.name");
    if (!name) {
      if (!Reader::field(*fn, "name")) r.missing("tool_choice.function.name");
      return;
    }
    choice.mode = ToolChoice::Mode::Named;
    choice.name = *name;
  } else {
    r.type_error("tool_choice", "a string or object", *tc);
    return;
  }
  req.tool_choice = choice;
}

}  // namespace

const char* role_name(Role role) {
  switch (role) {
    case Role::System:
      return "system";
    case Role::Developer:
      return "developer";
    case Role::User:
      return "user";
    case Role::Assistant:
      return "assistant";
    case Role::Tool:
      return "tool";
  }
  return "user";
}

ToolChoice ChatCompletionRequest::effective_tool_choice() const {
  if (tool_choice) return *tool_choice;
  return ToolChoice{tools.empty() ? ToolChoice::Mode::None : ToolChoice::Mode::Auto, {}};
}

ChatRequestParse parse_chat_completion_request(const nlohmann::json& body) {
  return parse_chat_completion_request(json(body));
}

ChatRequestParse parse_chat_completion_request(const json& body) {
  ChatRequestParse out;
  if (!body.is_object()) {
    out.errors.push_back(
        {"", std::string("Invalid request body: expected a JSON object, but got ") +
                 json_kind(body) + " instead."});
    return out;
  }
  Reader r(out.errors);
  ChatCompletionRequest req;

  if (auto model = r.string(body, "model", "model")) {
    req.model = *model;
  } else if (!Reader::field(body, "model")) {
    r.missing("model");
  }
  parse_messages(r, body, req);

  constexpr int64_t kMaxTokens = 1 << 24;
  auto max_tokens = r.integer(body, "max_tokens", "max_tokens", 1, kMaxTokens);
  auto max_completion =
      r.integer(body, "max_completion_tokens", "max_completion_tokens", 1, kMaxTokens);
  if (max_completion)
    req.max_tokens = static_cast<int>(*max_completion);
  else if (max_tokens)
    req.max_tokens = static_cast<int>(*max_tokens);

  if (auto t = r.number(body, "temperature", "temperature", 0, 2)) req.temperature = float(*t);
  if (auto p = r.number(body, "top_p", "top_p", 0, 1, /*lo_open=*/true)) req.top_p = float(*p);
  if (auto n = r.integer(body, "n", "n", 1, 8)) req.n = static_cast<int>(*n);
  parse_stop(r, body, req);
  if (const json* seed = Reader::field(body, "seed")) {
    if (seed->is_number_integer())
      req.seed = static_cast<uint64_t>(seed->get<int64_t>());
    else if (seed->is_number_unsigned())
      req.seed = seed->get<uint64_t>();
    else
      r.type_error("seed", "an integer", *seed);
  }
  if (auto v = r.number(body, "presence_penalty", "presence_penalty", -2, 2))
    req.presence_penalty = float(*v);
  if (auto v = r.number(body, "frequency_penalty", "frequency_penalty", -2, 2))
    req.frequency_penalty = float(*v);
  parse_logit_bias(r, body, req);
  req.logprobs = r.boolean(body, "logprobs", "logprobs").value_or(false);
  if (auto k = r.integer(body, "top_logprobs", "top_logprobs", 0, 20)) {
    req.top_logprobs = static_cast<int>(*k);
    if (!req.logprobs && *k > 0)
      r.error("top_logprobs",
              "Invalid 'top_logprobs': 'logprobs' must be set to true when "
              "'top_logprobs' is used.");
  }
  req.user = r.string(body, "user", "user");
  parse_response_format(r, body, req);
  parse_tools(r, body, req);
  parse_tool_choice(r, body, req);
  if (req.tool_choice && req.tool_choice->mode == ToolChoice::Mode::Named) {
    bool known = false;
    for (const auto& t : req.tools) known = known || t.name == req.tool_choice->name;
    if (!known)
      r.error("tool_choice", "Invalid 'tool_choice': function '" + req.tool_choice->name +
                                 "' is not among the given 'tools'.");
  }
  if (req.tool_choice && req.tool_choice->mode == ToolChoice::Mode::Required && req.tools.empty())
    r.error("tool_choice",
            "Invalid 'tool_choice': 'required' needs at least one tool in "
            "'tools'.");
  req.parallel_tool_calls =
      r.boolean(body, "parallel_tool_calls", "parallel_tool_calls").value_or(true);
  req.stream = r.boolean(body, "stream", "stream").value_or(false);
  if (const json* so = Reader::field(body, "stream_options")) {
    if (!so->is_object()) {
      r.type_error("stream_options", "an object", *so);
    } else {
      if (!req.stream)
        r.error("stream_options",
                "The 'stream_options' parameter is only allowed when 'stream' "
                "is enabled.");
      req.include_usage =
          r.boolean(*so, "include_usage", "stream_options.include_usage").value_or(false);
    }
  }
  if (auto k = r.integer(body, "top_k", "top_k", 0, 1 << 20)) req.top_k = static_cast<int>(*k);
  if (auto v = r.number(body, "min_p", "min_p", 0, 1)) req.min_p = float(*v);
  if (auto v = r.number(body, "repetition_penalty", "repetition_penalty", 0, 10, true))
    req.repetition_penalty = float(*v);
  req.ignore_eos = r.boolean(body, "ignore_eos", "ignore_eos").value_or(false);
  req.adapter = r.string(body, "adapter", "adapter");
  if (const json* lora = Reader::field(body, "lora")) {
    if (!lora->is_array()) {
      r.type_error("lora", "an array", *lora);
    } else {
      req.lora.emplace();
      for (size_t i = 0; i < lora->size(); ++i) {
        const std::string at = "lora[" + std::to_string(i) + "]";
        const json& e = (*lora)[i];
        if (!e.is_object()) {
          r.type_error(at, "an object", e);
          continue;
        }
        const auto id = r.integer(e, "id", at + ".id", 0, 1 << 20);
        const auto scale = r.number(e, "scale", at + ".scale", -100, 100);
        if (!id) {
          if (!Reader::field(e, "id")) r.error(at + ".id", "Missing required parameter: '" + at + ".id'.");
          continue;
        }
        req.lora->emplace_back(static_cast<int>(*id), scale.value_or(1.0));
      }
    }
  }

  if (out.errors.empty()) out.request = std::move(req);
  return out;
}

json messages_to_template_json(const std::vector<ChatMessage>& messages) {
  json out = json::array();
  for (const auto& m : messages) {
    json j = {{"role", role_name(m.role)}};
    j["content"] = m.content ? json(*m.content) : json(nullptr);
    if (m.name) j["name"] = *m.name;
    if (!m.tool_calls.empty()) {
      json calls = json::array();
      for (const auto& c : m.tool_calls) {
        // Templates (Qwen, Llama 3, Hermes) index into arguments or |tojson them: give them an
        // object when the text is JSON, the raw text otherwise.
        json args = json::parse(c.arguments, nullptr, /*allow_exceptions=*/false);
        if (args.is_discarded()) args = c.arguments;
        calls.push_back({{"id", c.id},
                         {"type", "function"},
                         {"function", {{"name", c.name}, {"arguments", args}}}});
      }
      j["tool_calls"] = std::move(calls);
    }
    if (m.role == Role::Tool) j["tool_call_id"] = m.tool_call_id;
    out.push_back(std::move(j));
  }
  return out;
}

json tool_to_openai_json(const FunctionTool& tool) {
  json fn = {{"name", tool.name}};
  if (tool.description) fn["description"] = *tool.description;
  fn["parameters"] =
      tool.parameters ? *tool.parameters : json{{"type", "object"}, {"properties", json::object()}};
  return {{"type", "function"}, {"function", std::move(fn)}};
}

}  // namespace toolgate::gateway
