#pragma once
// ChatCompletionRequest: the typed form of POST /v1/chat/completions. The JSON body is parsed
// into this at the edge (chat_request_parser.cpp) with every problem collected and named;
// nothing past the edge looks at the raw body.
#include <cstdint>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace toolgate::engine {
class Tokenizer;
}

namespace toolgate::gateway {

// The prompt of a non-chat endpoint (/v1/completions, /infill, Ollama's raw or suffix
// generate): the tokens come from this function instead of the chat template. It runs on a
// worker thread; a PromptRenderError it throws becomes a 400.
using PromptBuilder = std::function<std::vector<int32_t>(const engine::Tokenizer&)>;

enum class Role { System, Developer, User, Assistant, Tool };
const char* role_name(Role role);

struct ToolCall {
  std::string id;
  std::string name;
  std::string arguments;  // JSON text, as the OpenAI API carries it
};

struct ChatMessage {
  Role role = Role::User;
  std::optional<std::string> content;  // text parts joined; null for assistant tool-call turns
  std::optional<std::string> name;
  std::vector<ToolCall> tool_calls;  // assistant only
  std::string tool_call_id;          // tool only
};

struct FunctionTool {
  std::string name;
  std::optional<std::string> description;
  std::optional<nlohmann::ordered_json> parameters;  // JSON Schema object, key order kept
  bool strict = false;
  // A tool given by name only ({"type":"function","function":{"name":"x"}}): if the server
  // has a tool of that name, the gateway runs it itself (see README, "Server tools").
  bool name_only() const { return !description && !parameters; }
};

struct ToolChoice {
  enum class Mode { None, Auto, Required, Named };
  Mode mode = Mode::Auto;
  std::string name;  // Named only
};

enum class ResponseFormat { Text, JsonObject, JsonSchema };

// response_format {"type":"json_schema","json_schema":{...}}: the reply is JSON following
// `schema`, enforced while decoding (engine/constrained/). Key order of `schema` is kept: the
// reply writes properties in that order.
struct JsonSchemaFormat {
  std::string name;
  std::optional<std::string> description;
  nlohmann::ordered_json schema = nlohmann::ordered_json::object();
  bool strict = false;  // unsupported keywords are refused (400) rather than relaxed
};

struct ChatCompletionRequest {
  std::string model;
  std::vector<ChatMessage> messages;
  std::optional<int> max_tokens;  // max_completion_tokens wins when both are given
  std::optional<float> temperature;
  std::optional<float> top_p;
  int n = 1;
  std::vector<std::string> stop;
  std::optional<uint64_t> seed;
  std::optional<float> presence_penalty;
  std::optional<float> frequency_penalty;
  std::vector<std::pair<int32_t, float>> logit_bias;
  bool logprobs = false;
  int top_logprobs = 0;
  std::optional<std::string> user;
  ResponseFormat response_format = ResponseFormat::Text;
  std::optional<JsonSchemaFormat> json_schema;  // set iff response_format is JsonSchema
  std::vector<FunctionTool> tools;
  std::optional<ToolChoice> tool_choice;  // absent: auto when tools are given
  bool parallel_tool_calls = true;
  bool stream = false;
  bool include_usage = false;  // stream_options.include_usage
  // Extensions (llama.cpp/vLLM names).
  std::optional<int> top_k;
  std::optional<float> min_p;
  std::optional<float> repetition_penalty;
  bool ignore_eos = false;  // vLLM/llama.cpp extension: generate max_tokens whatever comes
  // LoRA adapter (gateway/adapter_choice.h): `adapter` names one of the model's adapters ("" =
  // the base); llama.cpp's `lora: [{"id": index, "scale": s}]` is accepted too.
  std::optional<std::string> adapter;
  std::optional<std::vector<std::pair<int, double>>> lora;
  // Non-empty for the non-chat endpoints: `messages` and tools are unused, and there are
  // raw_prompts.size() * n choices, choice i answering raw_prompts[i / n].
  std::vector<PromptBuilder> raw_prompts;

  int choice_count() const {
    return raw_prompts.empty() ? n : n * static_cast<int>(raw_prompts.size());
  }
  ToolChoice effective_tool_choice() const;
};

struct ParamError {
  std::string param;  // "temperature", "messages[1].content[0].type"
  std::string message;
};

struct ChatRequestParse {
  std::optional<ChatCompletionRequest> request;
  std::vector<ParamError> errors;  // non-empty iff !request
};

// Never throws: a body that is not JSON, not an object, or has bad fields yields errors.
// The ordered form keeps the key order of tool schemas (see PromptRenderer).
ChatRequestParse parse_chat_completion_request(const nlohmann::ordered_json& body);
ChatRequestParse parse_chat_completion_request(const nlohmann::json& body);

// The conversation as the chat template expects it (content strings, tool-call arguments
// parsed back into objects where they are valid JSON).
nlohmann::ordered_json messages_to_template_json(const std::vector<ChatMessage>& messages);
nlohmann::ordered_json tool_to_openai_json(const FunctionTool& tool);

}  // namespace toolgate::gateway
