#pragma once
// Ollama's HTTP API (/api/*) on top of the chat completion job, for the clients written for
// Ollama (Open WebUI, LangChain ChatOllama, ollama-python/-js, editor plugins):
// GET /api/version, /api/tags, /api/ps; POST /api/show, /api/chat, /api/generate. Chat and
// generate requests become a ChatCompletionRequest (options mapped onto the OpenAI fields, the
// same checks) and their output is rewritten by ollama_output.h. Errors are {"error": "..."}.
#include <memory>
#include <string>
#include <variant>

#include "gateway/http_api.h"
#include "gateway/http_message.h"

namespace toolgate::gateway {

// `model_for_log` is set to the model the request names, if any.
std::variant<HttpResponse, ChatCompletionStart> handle_ollama_request(
    const HttpRequest& request, std::shared_ptr<const ModelCatalog> catalog,
    std::string& model_for_log);

// The catalog entry an Ollama name means: the id or an alias, also with ":latest" appended as
// Ollama clients do.
const ServedModel* find_ollama_model(const ModelCatalog& catalog, const std::string& name);

// The version /api/version reports (clients gate features on it).
inline constexpr const char* kOllamaApiVersion = "0.12.0";

}  // namespace toolgate::gateway
