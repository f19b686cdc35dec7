#pragma once
// The data side of the server-tool loop for upstream models, without sockets: which tools the
// gateway runs itself for a forwarded request, the body of each round sent upstream, and an
// upstream's non-streamed answer read back into content, calls, finish reason and usage.
//
// Which tools are server tools follows the local models' rules (generation_plan.cpp): the
// model's `server_tools` unless tool_choice is "none", plus request tools declared by name only
// that the toolbox has; a request tool with a schema is the client's, whatever its name.
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "gateway/api_error.h"
#include "gateway/chat_request.h"
#include "gateway/chat_response.h"
#include "gateway/options.h"
#include "gateway/upstream_relay.h"

namespace toolgate::gateway {

class ServerToolbox;

struct UpstreamToolPlan {
  // Calls to these are run by the gateway. Empty: no loop; the request is relayed as today.
  std::set<std::string> server_tools;
  // The `tools` to forward (name-only declarations of server tools replaced by their full
  // definitions, the model's server tools added), or null to forward the client's as sent.
  nlohmann::ordered_json tools = nullptr;
  // tool_choice was "required" or a named function: it forces the first round only (as the
  // forced prefix does for local models); later rounds ask with "auto".
  bool forced_first_round = false;
  // The completion-token budget over all rounds and the key the client gave it under.
  std::optional<int> max_tokens;
  std::string max_tokens_key = "max_tokens";
  bool include_usage = false;  // stream_options.include_usage
};

// A 400 when the loop cannot serve the request (n > 1, messages not an array).
std::variant<UpstreamToolPlan, ApiError> plan_upstream_tools(const UpstreamChatRequest& request,
                                                             const ServedModel& model,
                                                             const ServerToolbox* toolbox);

// The JSON body of one round: the client's body with `model` set to the remote name, the
// model's sampling defaults, the plan's tools, `messages` (the conversation so far), stream off
// (no stream_options), tool_choice "auto" after a forced first round, and the token budget
// that is left (`max_tokens_left`, when there is a budget).
std::string upstream_round_body(const UpstreamChatRequest& request, const UpstreamToolPlan& plan,
                                const nlohmann::ordered_json& messages, int round,
                                std::optional<int> max_tokens_left, const std::string& remote_model,
                                const SamplingDefaults& defaults);

// One upstream answer (choices[0] of a chat.completion).
struct UpstreamRound {
  std::string content;
  std::vector<ToolCall> tool_calls;  // ids filled in when the upstream left them out
  std::string finish_reason = "stop";
  Usage usage;
  nlohmann::json logprobs_content = nullptr;  // choices[0].logprobs.content, when sent
};

// nullopt (and *error) when `body` is not a chat completion with at least one choice.
// Arguments sent as a JSON object (some servers do) become its JSON text.
std::optional<UpstreamRound> parse_upstream_round(std::string_view body, std::string* error);

// The assistant turn of a round whose calls the gateway ran, and one `tool` message per result,
// in the OpenAI wire shape (arguments as JSON text), to append to `messages`.
void append_tool_round(nlohmann::ordered_json& messages, const std::string& content,
                       const std::vector<ToolRun>& runs);

}  // namespace toolgate::gateway
