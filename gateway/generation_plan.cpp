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

  const bool forced =
      choice.mode == ToolChoice::Mode::Required || choice.mode == ToolChoice::Mode::Named;
  const std::optional<std::string> only =
      choice.mode == ToolChoice::Mode::Named ? std::optional<std::string>(choice.name)
                                             : std::nullopt;
  if (forced) {
    if (!model.tool_syntax)
      return ApiError::invalid_request("Model '" + model.id +
                                           "' has no known tool-call format, so tool_choice "
                                           "cannot force a call.",
                                       "tool_choice");
    plan.forced_prefix = model.tool_syntax->forced_call_prefix(only);
  }
  if (model.tool_syntax && model.constrain_tool_calls) {
    ToolConstraintSpec spec{plan.tools_json, std::nullopt, false, plan.parallel_tool_calls};
    plan.followup_constraint = model.tool_syntax->make_constraint(spec);
    if (forced) {
      spec.only = only;
      spec.forced = true;
      plan.constraint = model.tool_syntax->make_constraint(spec);
    } else {
      plan.constraint = plan.followup_constraint;
    }
  }
  return plan;
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
  return plan;
}

}  // namespace toolgate::gateway
