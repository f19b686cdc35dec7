#include "gateway/generation_plan.h"

#include "engine/tokenizer.h"
#include "gateway/server_toolbox.h"
#include "gateway/tool_call_syntax.h"

namespace toolgate::gateway {
namespace {

using json = nlohmann::ordered_json;

std::variant<ToolPlan, ApiError> plan_tools(const ChatCompletionRequest& req,
                                            const ServedModel& model,
                                            const ServerToolbox* toolbox) {
  ToolPlan plan;
  plan.parallel_tool_calls = req.parallel_tool_calls;
  // tool_choice "none": the model is told about no tool (OpenAI semantics), server tools
  // included, and its text is returned as it is. Absent means "auto", also when only the
  // model's server tools are on offer.
  if (req.tool_choice && req.tool_choice->mode == ToolChoice::Mode::None) return plan;
  ToolChoice choice = req.tool_choice.value_or(ToolChoice{ToolChoice::Mode::Auto, {}});

  json tools = json::array();
  std::set<std::string> declared;
  for (const auto& t : req.tools) {
    if (t.name_only() && toolbox && toolbox->has(t.name)) {
      plan.server_tools.insert(t.name);
      continue;
    }
    tools.push_back(tool_to_openai_json(t));
    declared.insert(t.name);
  }
  if (toolbox) {
    for (const auto& name : model.server_tools) {
      // A client tool of the same name wins: the client asked to handle it.
      if (!declared.count(name) && toolbox->has(name)) plan.server_tools.insert(name);
    }
    if (!plan.server_tools.empty()) {
      json server = json(toolbox->openai_tools_json(
          std::vector<std::string>(plan.server_tools.begin(), plan.server_tools.end())));
      for (auto& t : server) tools.push_back(std::move(t));
    }
  }
  if (tools.empty()) return plan;
  plan.tools_json = std::move(tools);
  plan.parse_tool_calls = model.tool_syntax != nullptr;

  plan.forced =
      choice.mode == ToolChoice::Mode::Required || choice.mode == ToolChoice::Mode::Named;
  if (choice.mode == ToolChoice::Mode::Named) plan.only = choice.name;
  if (plan.forced) {
    if (!model.tool_syntax)
      return ApiError::invalid_request("Model '" + model.id +
                                           "' has no known tool-call format, so tool_choice "
                                           "cannot force a call.",
                                       "tool_choice");
    plan.forced_prefix = model.tool_syntax->forced_call_prefix(plan.only);
  }
  for (const auto& t : req.tools) plan.strict_tools = plan.strict_tools || t.strict;
  return plan;
}

namespace ec = engine::constrained;

// A compiled schema's problems as the API's 400, or nothing. `param` names the schema
// ("response_format.json_schema.schema"); the issue's path is appended to it.
std::optional<ApiError> judge_schema(const ec::CompiledSchema& compiled, bool strict,
                                     const std::string& param) {
  for (const auto& issue : compiled.issues) {
    const bool refuse = issue.kind != ec::SchemaIssue::Kind::Unsupported || strict;
    if (!refuse) continue;
    const std::string where = issue.path.empty() ? param : param + "." + issue.path;
    std::string message;
    switch (issue.kind) {
      case ec::SchemaIssue::Kind::Invalid:
        message = "Invalid schema for '" + param + "': " + issue.message + " (at '" + where + "').";
        break;
      case ec::SchemaIssue::Kind::Limit:
        message = "Schema for '" + param + "' is too large: " + issue.message + ".";
        break;
      case ec::SchemaIssue::Kind::Unsupported:
        message = "Invalid schema for '" + param + "': " + issue.message + " (at '" + where +
                  "'). In strict mode every keyword must be enforced; remove it, or set "
                  "strict to false to have it relaxed.";
        break;
    }
    ApiError err = ApiError::invalid_request(message, where);
    return err;
  }
  return std::nullopt;
}

std::optional<ApiError> check_schema_size(const nlohmann::ordered_json& schema,
                                          const PlanLimits& limits, const std::string& param) {
  const size_t size = schema.dump().size();
  if (size <= limits.max_schema_bytes) return std::nullopt;
  return ApiError::invalid_request("Schema for '" + param + "' is too large: " +
                                       std::to_string(size) + " bytes, the limit is " +
                                       std::to_string(limits.max_schema_bytes) + ".",
                                   param);
}

// response_format json_object / json_schema: the compiled answer schema, or a 400.
std::variant<std::shared_ptr<const ec::CompiledSchema>, ApiError> plan_answer(
    const ChatCompletionRequest& req, const ServedModel& model, const PlanLimits& limits) {
  if (req.response_format == ResponseFormat::Text) return nullptr;
  if (!model.constraints)
    return ApiError::invalid_request(
        "Model '" + model.id + "' does not support constrained decoding, so 'response_format' " +
            "cannot be enforced.",
        "response_format");
  const ec::SchemaLimits schema_limits{limits.max_schema_depth, 20000};
  if (req.response_format == ResponseFormat::JsonObject)
    return model.constraints->compile(nlohmann::ordered_json(), true, schema_limits);
  const JsonSchemaFormat& f = *req.json_schema;
  const std::string param = "response_format.json_schema.schema";
  if (auto err = check_schema_size(f.schema, limits, param)) return *err;
  auto compiled = model.constraints->compile(f.schema, false, schema_limits);
  if (auto err = judge_schema(*compiled, f.strict, param)) return *err;
  return compiled;
}

// Strict tools: their parameter schemas must be fully enforceable (as OpenAI requires).
std::optional<ApiError> check_strict_tools(const ChatCompletionRequest& req,
                                           const ServedModel& model, const PlanLimits& limits) {
  if (!model.constraints) return std::nullopt;
  const ec::SchemaLimits schema_limits{limits.max_schema_depth, 20000};
  for (size_t i = 0; i < req.tools.size(); ++i) {
    const FunctionTool& t = req.tools[i];
    if (!t.strict || !t.parameters) continue;
    const std::string param = "tools[" + std::to_string(i) + "].function.parameters";
    if (auto err = check_schema_size(*t.parameters, limits, param)) return err;
    auto compiled = model.constraints->compile(*t.parameters, true, schema_limits);
    if (auto err = judge_schema(*compiled, true, param)) return err;
  }
  return std::nullopt;
}

// Which constraints the rounds of this request decode under (see GenerationPlan).
void plan_constraints(GenerationPlan& plan, const ServedModel& model) {
  if (!model.constraints) return;
  const ToolPlan& tools = plan.tools;
  const bool offered = !tools.tools_json.is_null();
  const bool constrain_calls = offered && model.tool_syntax &&
                               (model.constrain_tool_calls || tools.strict_tools);
  ReplyConstraintSpec followup;
  followup.answer = plan.answer;
  // Beside an answer the calls are constrained whatever the config says: the reply is
  // either calls or the answer, and free text is not an option.
  if (constrain_calls || (offered && model.tool_syntax && plan.answer))
    followup.tools = ToolConstraintSpec{tools.tools_json, std::nullopt, false,
                                        tools.parallel_tool_calls};
  plan.followup_constraint = model.constraints->make(followup);
  if (tools.forced) {
    ReplyConstraintSpec first;
    if (model.tool_syntax && (model.constrain_tool_calls || tools.strict_tools))
      first.tools =
          ToolConstraintSpec{tools.tools_json, tools.only, true, tools.parallel_tool_calls};
    plan.constraint = first.tools ? model.constraints->make(first) : nullptr;
  } else {
    plan.constraint = plan.followup_constraint;
  }
}

}  // namespace

std::variant<GenerationPlan, ApiError> plan_generation(const ChatCompletionRequest& req,
                                                       const ServedModel& model,
                                                       const ServerToolbox* toolbox,
                                                       const PlanLimits& limits) {
  GenerationPlan plan;
  const SamplingDefaults& d = model.sampling;
  auto& s = plan.sampling;
  s.temperature = req.temperature.value_or(d.temperature.value_or(1.0f));
  s.top_p = req.top_p.value_or(d.top_p.value_or(1.0f));
  s.top_k = req.top_k.value_or(d.top_k.value_or(0));
  s.min_p = req.min_p.value_or(d.min_p.value_or(0.0f));
  s.repetition_penalty = req.repetition_penalty.value_or(d.repetition_penalty.value_or(1.0f));
  s.presence_penalty = req.presence_penalty.value_or(d.presence_penalty.value_or(0.0f));
  s.frequency_penalty = req.frequency_penalty.value_or(d.frequency_penalty.value_or(0.0f));
  s.seed = req.seed;
  s.logprobs = req.logprobs;
  s.top_logprobs = req.logprobs ? req.top_logprobs : 0;

  if (!req.logit_bias.empty()) {
    int32_t n_vocab = model.engine ? model.engine->tokenizer().n_vocab() : 0;
    for (const auto& [id, bias] : req.logit_bias) {
      if (n_vocab > 0 && id >= n_vocab)
        return ApiError::invalid_request("Invalid 'logit_bias': token id " + std::to_string(id) +
                                             " is out of range; the vocabulary has " +
                                             std::to_string(n_vocab) + " tokens.",
                                         "logit_bias");
    }
    s.logit_bias = req.logit_bias;
  }

  int limit = limits.max_tokens_per_request;
  if (req.max_tokens && *req.max_tokens > limit)
    return ApiError::invalid_request(
        "Invalid 'max_tokens': " + std::to_string(*req.max_tokens) +
            " is greater than the maximum this server allows per request (" +
            std::to_string(limit) + ").",
        "max_tokens");
  plan.max_tokens = req.max_tokens.value_or(std::min(d.max_tokens.value_or(limit), limit));
  plan.stop = req.stop;

  auto tools = plan_tools(req, model, toolbox);
  if (auto* err = std::get_if<ApiError>(&tools)) return *err;
  plan.tools = std::move(std::get<ToolPlan>(tools));
  if (auto err = check_strict_tools(req, model, limits)) return *err;
  auto answer = plan_answer(req, model, limits);
  if (auto* err = std::get_if<ApiError>(&answer)) return *err;
  plan.answer = std::get<std::shared_ptr<const ec::CompiledSchema>>(answer);
  // A structured reply ends where its JSON value ends; a stop sequence could only cut it.
  if (plan.answer) plan.stop.clear();
  plan_constraints(plan, model);
  return plan;
}

}  // namespace toolgate::gateway
