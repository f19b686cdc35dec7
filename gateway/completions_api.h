#pragma once
// The non-chat completion endpoints, parsed into the chat completion job's typed request with
// raw prompts (no chat template) and a translator for their output shape:
// - POST /v1/completions (OpenAI legacy): prompt as a string, strings, tokens or token arrays;
//   `suffix` makes it a fill-in-the-middle request (fim_prompt.h); echo; logprobs as an
//   integer in the legacy shape.
// - POST /infill (llama.cpp server): input_prefix, input_suffix, input_extra, prompt; the
//   llama.cpp response shape (content, stop, timings), as llama.vscode reads it.
#include <memory>
#include <nlohmann/json.hpp>
#include <variant>

#include "gateway/api_error.h"
#include "gateway/http_api.h"

namespace toolgate::gateway {

std::variant<ChatCompletionStart, ApiError> parse_text_completion(
    const nlohmann::ordered_json& body, std::shared_ptr<const ModelCatalog> catalog);

// llama.cpp's /infill names no model in the body: `model` is optional and defaults to the
// first served model that can fill in the middle.
std::variant<ChatCompletionStart, ApiError> parse_infill(
    const nlohmann::ordered_json& body, std::shared_ptr<const ModelCatalog> catalog);

}  // namespace toolgate::gateway
