#include "gateway/adapter_choice.h"

#include <cmath>
#include <string>

#include "engine/engine.h"

namespace toolgate::gateway {

std::optional<ApiError> choose_adapter(ChatCompletionRequest& req, const ServedModel& model) {
  if (!req.adapter && !req.lora) return std::nullopt;
  if (!model.engine)
    return ApiError::invalid_request("Model '" + model.id + "' is served upstream; it has no LoRA adapters.",
                                     req.adapter ? "adapter" : "lora");
  const auto& adapters = model.engine->model().adapters;
  auto list = [&] {
    std::string s;
    for (size_t i = 0; i < adapters.size(); ++i) s += (i ? ", " : "") + adapters[i].id;
    return adapters.empty() ? std::string("none") : s;
  };
  if (req.adapter && req.lora)
    return ApiError::invalid_request("Give either 'adapter' or 'lora', not both.", "lora");
  if (req.adapter) {
    if (req.adapter->empty()) return std::nullopt;  // the base model
    for (const auto& a : adapters)
      if (a.id == *req.adapter) return std::nullopt;
    return ApiError::invalid_request("Model '" + model.id + "' has no LoRA adapter '" + *req.adapter +
                                         "' (adapters: " + list() + ").",
                                     "adapter");
  }
  std::optional<std::string> chosen;
  for (size_t i = 0; i < req.lora->size(); ++i) {
    const auto [index, scale] = (*req.lora)[i];
    const std::string at = "lora[" + std::to_string(i) + "]";
    if (index < 0 || static_cast<size_t>(index) >= adapters.size())
      return ApiError::invalid_request("Invalid '" + at + ".id': model '" + model.id + "' has " +
                                           std::to_string(adapters.size()) + " LoRA adapter(s) (" + list() + ").",
                                       at + ".id");
    if (scale == 0.0) continue;
    const auto& a = adapters[static_cast<size_t>(index)];
    if (std::fabs(scale - a.scale) > 1e-6)
      return ApiError::invalid_request("Invalid '" + at + ".scale': adapter '" + a.id + "' runs at scale " +
                                           std::to_string(a.scale) +
                                           " (set in the config); per-request scales are not supported.",
                                       at + ".scale");
    if (chosen && *chosen != a.id)
      return ApiError::invalid_request("Only one LoRA adapter can be applied per request.", at);
    chosen = a.id;
  }
  req.adapter = chosen.value_or("");
  req.lora.reset();
  return std::nullopt;
}

}  // namespace toolgate::gateway
