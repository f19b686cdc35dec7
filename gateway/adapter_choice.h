#pragma once
// Which LoRA adapter a request runs with. The model id picks one ("base:adapter" ids are
// ServedModels with `adapter` set); a request may also name one with the extension field
// `"adapter": "<id>"` ("" = the base model), or in llama.cpp's shape
// `"lora": [{"id": <index into the model's adapters>, "scale": s}]` (entries with scale 0 are
// ignored; at most one may remain, and its scale must be the configured one: per-request scales
// would need per-request K/V, which the prefix cache keys by adapter, not by scale).
#include <optional>

#include "gateway/api_error.h"
#include "gateway/chat_request.h"
#include "gateway/options.h"

namespace toolgate::gateway {

// On success sets req.adapter to the adapter to run ("" = base) when the request chose one, and
// returns nullopt; otherwise a 400 naming the parameter.
std::optional<ApiError> choose_adapter(ChatCompletionRequest& req, const ServedModel& model);

}  // namespace toolgate::gateway
