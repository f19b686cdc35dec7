#pragma once
// What a chat completion asks of the engine, worked out once per request before anything is
// submitted: sampling parameters with the model's defaults filled in, the token budget, and the
// tool plan (which tools go into the prompt, which the server runs itself, whether a call is
// forced). Failures are ApiErrors naming the parameter.
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <variant>

#include "engine/engine.h"
#include "gateway/api_error.h"
#include "gateway/chat_request.h"
#include "gateway/options.h"
#include "engine/constrained/compiled_schema.h"
#include "gateway/reply_constraints.h"
#include "gateway/tool_call_syntax.h"

namespace toolgate::gateway {

class ServerToolbox;

struct ToolPlan {
  nlohmann::ordered_json tools_json = nullptr;  // null, or the array rendered into the prompt
  std::set<std::string> server_tools;           // calls to these are executed by the gateway
  bool parse_tool_calls = false;                // run generated text through the dialect parser
  std::optional<std::string> forced_prefix;     // appended to the first round's prompt
  bool parallel_tool_calls = true;
  bool forced = false;                          // tool_choice required or named
  std::optional<std::string> only;              // tool_choice named
  bool strict_tools = false;                    // some tool asked for strict arguments
};

struct GenerationPlan {
  engine::SamplingParams sampling;
  int max_tokens = 0;
  std::vector<std::string> stop;
  ToolPlan tools;
  // The reply's JSON schema (response_format json_object / json_schema); null = free text.
  std::shared_ptr<const engine::constrained::CompiledSchema> answer;
  // Decoding constraints (null = none). The first round is forced to a call for tool_choice
  // required/named (continuing from forced_prefix); otherwise calls are lazy, or, with an
  // answer schema, the reply is either calls or the answer. Later rounds of the server-tool
  // loop are as for auto, since tool_choice applies to the first round only.
  std::shared_ptr<const ConstraintFactory> constraint;
  std::shared_ptr<const ConstraintFactory> followup_constraint;
};

struct PlanLimits {
  int max_tokens_per_request = 4096;
  uint64_t max_schema_bytes = 128 << 10;
  int max_schema_depth = 32;
};

std::variant<GenerationPlan, ApiError> plan_generation(const ChatCompletionRequest& request,
                                                       const ServedModel& model,
                                                       const ServerToolbox* toolbox,
                                                       const PlanLimits& limits);

}  // namespace toolgate::gateway
