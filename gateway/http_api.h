#pragma once
// Routing and everything about a request that needs no socket: auth, CORS, method checks,
// /v1/models, /health, /metrics, and turning a chat completion body into a typed request bound
// to a served model. The session either writes the returned response or starts a job.
#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <variant>

#include "gateway/api_key_auth.h"
#include "gateway/chat_request.h"
#include "gateway/cors_policy.h"
#include "gateway/http_message.h"
#include "gateway/model_catalog.h"
#include "gateway/stored_completions_api.h"
#include "gateway/storing_sink.h"
#include "gateway/response_sink.h"
#include "gateway/upstream_relay.h"

namespace toolgate::gateway {

class Metrics;
class AdmissionControl;

// A parsed chat completion, ready for admission.
struct ChatCompletionStart {
  ChatCompletionRequest request;
  std::shared_ptr<const ModelCatalog> catalog;
  const ServedModel* model = nullptr;  // points into catalog
  // Set instead of `request` when the model is an upstream one: the body is forwarded.
  std::optional<UpstreamChatRequest> upstream;
  // Set for `store: true` when the server has a store (stored_completions_api.h).
  std::optional<StoreIntent> store;
  // Endpoints other than /v1/chat/completions (Ollama's /api/chat, /v1/completions, /infill)
  // run the same job and rewrite its chat.completion output into their own shape: this wraps
  // the session's sink in their translator.
  std::function<std::shared_ptr<ResponseSink>(std::shared_ptr<ResponseSink>)> wrap_sink;
  // Set for a request made with a named key (key_policy.h): the key's name for the access log,
  // and what to call with the finished request's usage.
  std::string key_name;
  std::function<void(int prompt_tokens, int completion_tokens)> on_usage;
};

struct ApiOutcome {
  // DeferredResponse: blocking store work the session runs on a worker thread.
  std::variant<HttpResponse, ChatCompletionStart, DeferredResponse> action;
  HttpHeaders common_headers;  // x-request-id, CORS: added to whatever is finally sent
  std::string request_id;
  std::string model;  // for the access log ("" when none)
};

class HttpApi {
 public:
  HttpApi(ApiKeyAuth auth, CorsPolicy cors, Metrics* metrics, const AdmissionControl* admission);

  // Publishes the served models; /health turns 200 once a catalog with every configured model
  // ready is published.
  void publish(std::shared_ptr<const ModelCatalog> catalog);
  // Stored completions and the web chat (null store: `store` is ignored, no list endpoints;
  // web_ui false: no page at /). Call before serving.
  void set_store(store::CompletionStore* store);
  void set_web_ui(bool enabled) { web_ui_ = enabled; }
  void set_metrics_auth(bool on) { metrics_auth_ = on; }  // /metrics needs an API key
  // POST /admin/reload (admin keys only) calls it: the problems that kept the old config, or
  // none. Also used for SIGHUP (server.h).
  // `post` runs a task where reloads run (null: a worker thread).
  void set_reload_handler(std::function<std::vector<std::string>()> reload,
                          std::function<void(std::function<void()>)> post = nullptr);
  const ApiKeyAuth& auth() const { return auth_; }
  std::shared_ptr<const ModelCatalog> catalog() const;

  // Never throws.
  ApiOutcome handle(const HttpRequest& request) const;
  // Common headers for responses produced outside handle() (413 from the parser, ...).
  HttpHeaders common_headers(const HttpRequest& request, const std::string& request_id) const;
  // Adds common headers to an error the session produced itself.
  const CorsPolicy& cors() const { return cors_; }

 private:
  HttpResponse route(const HttpRequest& request, ApiOutcome& outcome) const;
  HttpResponse metrics_response() const;
  HttpResponse route_ollama(const HttpRequest& request, ApiOutcome& outcome) const;
  // A started completion by a named key: its model list and rate limits (key_policy.h).
  void apply_key_policy(const HttpRequest& request, ApiOutcome& outcome) const;
  HttpResponse admin_reload(const HttpRequest& request, ApiOutcome& outcome) const;

  ApiKeyAuth auth_;
  CorsPolicy cors_;
  Metrics* metrics_;
  const AdmissionControl* admission_;
  std::optional<StoredCompletionsApi> stored_;
  bool web_ui_ = false;
  bool metrics_auth_ = false;
  std::function<std::vector<std::string>()> reload_;  // guarded by mu_
  std::function<void(std::function<void()>)> post_reload_;  // guarded by mu_
  mutable std::mutex mu_;
  std::shared_ptr<const ModelCatalog> catalog_;
};

// "%2F" -> "/"; invalid escapes are kept as they are.
std::string url_decode(std::string_view s);

}  // namespace toolgate::gateway
