#include "gateway/http_api.h"

#include "gateway/adapter_choice.h"
#include "gateway/admission_control.h"
#include "gateway/api_error.h"
#include "gateway/json_nesting.h"
#include "gateway/chat_response.h"
#include "gateway/key_owner.h"
#include "gateway/completions_api.h"
#include "gateway/ollama_api.h"
#include "gateway/ollama_output.h"
#include "gateway/metrics.h"
#include "gateway/stored_completion_params.h"
#include "gateway/key_policy.h"
#include "gateway/upstream_pool.h"
#include "gateway/web_ui.h"

namespace toolgate::gateway {
namespace {

using nlohmann::json;

constexpr std::string_view kModelsPrefix = "/v1/models/";

HttpResponse method_not_allowed(const HttpRequest& req, const char* allow) {
  HttpResponse r = ApiError::method_not_allowed(req.method, std::string(req.path())).to_response();
  r.set_header("Allow", allow);
  return r;
}

std::string join_errors(const std::vector<ParamError>& errors) {
  std::string msg;
  for (const auto& e : errors) {
    if (!msg.empty()) msg += " ";
    msg += e.message;
  }
  return msg;
}

// A chat completion for an upstream model is forwarded as sent (upstream_relay.h), so it
// skips our own request parser. Returns nothing when `body` is not for an upstream model.
std::optional<HttpResponse> route_upstream_chat(nlohmann::ordered_json& body,
                                                const std::shared_ptr<const ModelCatalog>& catalog,
                                                ApiOutcome& outcome) {
  if (!body.is_object()) return std::nullopt;
  auto it = body.find("model");
  if (it == body.end() || !it->is_string()) return std::nullopt;
  const ServedModel* m = catalog->find(it->get<std::string>());
  if (!m || !m->upstream) return std::nullopt;
  outcome.model = m->id;
  auto parsed = parse_upstream_chat_request(std::move(body));
  if (auto* err = std::get_if<ApiError>(&parsed)) return err->to_response();
  ChatCompletionStart start;
  start.request.model = m->id;
  start.catalog = catalog;
  start.model = m;
  start.upstream = std::move(std::get<UpstreamChatRequest>(parsed));
  start.request.stream = start.upstream->stream;
  outcome.action = std::move(start);
  return HttpResponse{};
}

ApiError not_found_or_loading(const ModelCatalog& catalog, const std::string& model) {
  return catalog.is_loading(model) ? ApiError::model_loading(model)
                                   : ApiError::model_not_found(model);
}

}  // namespace

std::string url_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
      out += static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

HttpApi::HttpApi(ApiKeyAuth auth, CorsPolicy cors, Metrics* metrics,
                 const AdmissionControl* admission)
    : auth_(std::move(auth)),
      cors_(std::move(cors)),
      metrics_(metrics),
      admission_(admission),
      catalog_(std::make_shared<ModelCatalog>()) {}

void HttpApi::publish(std::shared_ptr<const ModelCatalog> catalog) {
  std::lock_guard lock(mu_);
  catalog_ = catalog ? std::move(catalog) : std::make_shared<ModelCatalog>();
}

void HttpApi::set_store(store::CompletionStore* store) {
  if (store) stored_.emplace(store);
}

std::shared_ptr<const ModelCatalog> HttpApi::catalog() const {
  std::lock_guard lock(mu_);
  return catalog_;
}

HttpHeaders HttpApi::common_headers(const HttpRequest& request,
                                    const std::string& request_id) const {
  HttpHeaders h = cors_.response_headers(request.header("Origin"));
  h.emplace_back("x-request-id", request_id);
  return h;
}

ApiOutcome HttpApi::handle(const HttpRequest& request) const {
  ApiOutcome outcome;
  outcome.request_id = make_request_id();
  outcome.common_headers = common_headers(request, outcome.request_id);
  try {
    HttpResponse r = route(request, outcome);
    if (std::holds_alternative<HttpResponse>(outcome.action)) outcome.action = std::move(r);
    apply_key_policy(request, outcome);
  } catch (const std::exception& e) {
    outcome.action = ApiError::internal(std::string("internal error: ") + e.what()).to_response();
  }
  return outcome;
}

void HttpApi::apply_key_policy(const HttpRequest& request, ApiOutcome& outcome) const {
  auto [keys, key] = auth_.identify(request.header("Authorization"));
  if (!keys || !key) return;
  auto* start = std::get_if<ChatCompletionStart>(&outcome.action);
  if (!start || !start->model) {
    // Every answer to a key with limits carries them (as OpenAI's do); only a completion
    // takes a request from the bucket.
    for (auto& h : keys->current_limits(*key)) outcome.common_headers.push_back(std::move(h));
    return;
  }
  std::vector<std::string> names{start->model->id};
  names.insert(names.end(), start->model->aliases.begin(), start->model->aliases.end());
  auto admission = keys->admit(*key, names);
  for (auto& h : admission.headers) outcome.common_headers.push_back(std::move(h));
  if (admission.refusal) {
    outcome.action = admission.refusal->to_response();
    return;
  }
  start->key_name = keys->name(*key);
  // An init-capture, not `keys` itself: clang before 16 cannot capture a structured binding.
  start->on_usage = [policies = keys, k = *key](int prompt, int completion) {
    policies->record_usage(k, prompt, completion);
  };
}

HttpResponse HttpApi::admin_reload(const HttpRequest& req, ApiOutcome& outcome) const {
  if (auto err = auth_.check(req.header("Authorization"))) return err->to_response();
  auto [keys, key] = auth_.identify(req.header("Authorization"));
  if (!keys || !key || !keys->admin(*key)) {
    ApiError e;
    e.status = 403;
    e.type = "invalid_request_error";
    e.code = "admin_key_required";
    e.message = "POST /admin/reload needs a key with `admin: true` (server.keys).";
    return e.to_response();
  }
  std::function<std::vector<std::string>()> reload;
  std::function<void(std::function<void()>)> post;
  {
    std::lock_guard lock(mu_);
    reload = reload_;
    post = post_reload_;
  }
  if (!reload) return ApiError::route_not_found("POST", "/admin/reload").to_response();
  // A reload may load models (seconds per GGUF): it runs off the I/O threads (on the server's
  // reload thread), which would otherwise stall every connection they serve.
  outcome.action = DeferredResponse{[reload = std::move(reload)] {
                                      std::vector<std::string> problems = reload();
                                      nlohmann::json body = {{"reloaded", problems.empty()},
                                                             {"errors", problems}};
                                      return json_response(problems.empty() ? 200 : 400,
                                                           body.dump());
                                    },
                                    std::move(post)};
  return {};
}

void HttpApi::set_reload_handler(std::function<std::vector<std::string>()> reload,
                                 std::function<void(std::function<void()>)> post) {
  std::lock_guard lock(mu_);
  reload_ = std::move(reload);
  post_reload_ = std::move(post);
}

HttpResponse HttpApi::metrics_response() const {
  std::vector<ModelEngineStats> engines;
  std::vector<const UpstreamPool*> pools;
  const auto models = catalog();
  for (const auto& m : models->models()) {
    if (m.engine) engines.push_back({m.id, m.engine->stats()});
    if (m.upstream_pool) pools.push_back(m.upstream_pool.get());
  }
  HttpResponse r;
  r.status = 200;
  r.headers.emplace_back("Content-Type", kPrometheusContentType);
  r.body = metrics_->render(engines, admission_ ? admission_->running() : 0,
                            admission_ ? admission_->waiting() : 0);
  UpstreamPool::render_metrics(r.body, pools);
  if (auto keys = auth_.policies()) keys->render_metrics(r.body);
  if (stored_) r.body += stored_->metrics_text();
  return r;
}

HttpResponse HttpApi::route(const HttpRequest& req, ApiOutcome& outcome) const {
  const std::string path(req.path());
  const std::string& method = req.method;

  if (method == "OPTIONS") return cors_.preflight(req);

  // Probes and scrapes carry no API key (as in vLLM): they reveal nothing about conversations.
  if (path == "/health") {
    if (method != "GET" && method != "HEAD") return method_not_allowed(req, "GET, HEAD");
    if (!catalog()->ready())
      return ApiError::unavailable("Models are still loading.", 1).to_response();
    return json_response(200, R"({"status":"ok"})");
  }
  if (path == "/admin/reload") {
    if (method != "POST") return method_not_allowed(req, "POST");
    return admin_reload(req, outcome);
  }
  if (path == "/metrics") {
    if (method != "GET" && method != "HEAD") return method_not_allowed(req, "GET, HEAD");
    if (!metrics_) return ApiError::route_not_found(method, path).to_response();
    if (metrics_auth_) {
      if (auto err = auth_.check(req.header("Authorization"))) return err->to_response();
    }
    return metrics_response();
  }

  if (web_ui_) {
    if (auto page = web_ui_response(method, path)) return *page;
  }
  // Before anything parses a body: nlohmann::json recurses on nested values (json_nesting.h).
  if (json_too_deep(req.body)) {
    return ApiError::invalid_request("The request body nests arrays and objects deeper than " +
                                     std::to_string(kMaxJsonNesting) + " levels.")
        .to_response();
  }
  if (stored_ && StoredCompletionsApi::handles(path, method)) {
    if (auto err = auth_.check(req.header("Authorization"))) return err->to_response();
    auto action = stored_->route(req, key_owner(auth_, req.header("Authorization")));
    if (auto* deferred = std::get_if<DeferredResponse>(&action)) {
      outcome.action = std::move(*deferred);
      return {};
    }
    return std::get<HttpResponse>(std::move(action));
  }

  const bool models_list = path == "/v1/models";
  const bool model_get = path.size() > kModelsPrefix.size() &&
                         path.compare(0, kModelsPrefix.size(), kModelsPrefix) == 0;
  const bool chat = path == "/v1/chat/completions";
  const bool text_completion = path == "/v1/completions";
  const bool infill = path == "/infill";
  if (path.rfind("/api/", 0) == 0) return route_ollama(req, outcome);
  if (text_completion || infill) {
    if (method != "POST") return method_not_allowed(req, "POST");
    if (auto err = auth_.check(req.header("Authorization"))) return err->to_response();
    auto body = nlohmann::ordered_json::parse(req.body, nullptr, /*allow_exceptions=*/false);
    if (body.is_discarded()) return ApiError::invalid_json("invalid JSON").to_response();
    auto parsed = text_completion ? parse_text_completion(body, catalog())
                                  : parse_infill(body, catalog());
    if (auto* err = std::get_if<ApiError>(&parsed)) return err->to_response();
    auto& start = std::get<ChatCompletionStart>(parsed);
    if (auto err = choose_adapter(start.request, *start.model)) return err->to_response();
    outcome.model = start.model->id;
    outcome.action = std::move(start);
    return {};
  }
  if (!models_list && !model_get && !chat)
    return ApiError::route_not_found(method, path).to_response();
  if ((models_list || model_get) && method != "GET" && method != "HEAD")
    return method_not_allowed(req, "GET, HEAD");
  if (chat && method != "POST") return method_not_allowed(req, "POST");

  if (auto err = auth_.check(req.header("Authorization"))) return err->to_response();

  auto catalog = this->catalog();
  if (models_list) return json_response(200, dump_json(catalog->list_json()));
  if (model_get) {
    std::string id = url_decode(std::string_view(path).substr(kModelsPrefix.size()));
    const ServedModel* m = catalog->find(id);
    if (!m) return not_found_or_loading(*catalog, id).to_response();
    outcome.model = m->id;
    return json_response(200, dump_json(ModelCatalog::model_json(*m)));
  }

  // POST /v1/chat/completions
  auto body = nlohmann::ordered_json::parse(req.body, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded()) {
    // Re-parse with exceptions for a precise message (position of the error).
    try {
      [[maybe_unused]] auto again = nlohmann::ordered_json::parse(req.body);
    } catch (const json::parse_error& e) {
      return ApiError::invalid_json(e.what()).to_response();
    }
    return ApiError::invalid_json("invalid JSON").to_response();
  }
  std::optional<StoreIntent> store_intent;
  if (stored_) {
    auto intent = parse_store_intent(body, key_owner(auth_, req.header("Authorization")));
    if (auto* err = std::get_if<ApiError>(&intent)) return err->to_response();
    store_intent = std::move(std::get<std::optional<StoreIntent>>(intent));
  }
  if (auto upstream = route_upstream_chat(body, catalog, outcome)) {
    if (auto* start = std::get_if<ChatCompletionStart>(&outcome.action))
      start->store = std::move(store_intent);
    return *upstream;
  }
  ChatRequestParse parsed = parse_chat_completion_request(body);
  if (!parsed.request) {
    return ApiError::invalid_request(join_errors(parsed.errors),
                                     parsed.errors.front().param.empty()
                                         ? std::nullopt
                                         : std::optional<std::string>(parsed.errors.front().param))
        .to_response();
  }
  // Only a served model's id reaches the access log: the requested name is body text (and could
  // carry a newline to forge log lines).
  const ServedModel* m = catalog->find(parsed.request->model);
  if (!m) return not_found_or_loading(*catalog, parsed.request->model).to_response();
  if (auto err = choose_adapter(*parsed.request, *m)) return err->to_response();
  outcome.model = m->id;
  outcome.action = ChatCompletionStart{std::move(*parsed.request), catalog, m, std::nullopt,
                                       std::move(store_intent), {}, {}, {}};
  return {};
}

}  // namespace toolgate::gateway

namespace toolgate::gateway {

HttpResponse HttpApi::route_ollama(const HttpRequest& req, ApiOutcome& outcome) const {
  if (auto err = auth_.check(req.header("Authorization"))) {
    HttpResponse r = err->to_response();
    return ollama_error(r.status, err->message);
  }
  auto result = handle_ollama_request(req, catalog(), outcome.model);
  if (auto* start = std::get_if<ChatCompletionStart>(&result)) {
    outcome.model = start->model->id;
    outcome.action = std::move(*start);
    return {};
  }
  return std::move(std::get<HttpResponse>(result));
}

}  // namespace toolgate::gateway
