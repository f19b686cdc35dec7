// Routing, auth, CORS, /v1/models, /health, /metrics and request errors, without sockets.
#include <gtest/gtest.h>

#include <algorithm>
#include <sstream>

#include "fakes.h"
#include "gateway/admission_control.h"
#include "gateway/api_key_auth.h"
#include "gateway/cors_policy.h"
#include "gateway/http_api.h"
#include "gateway/key_policy.h"
#include "gateway/metrics.h"

namespace toolgate::gateway {
namespace {

using nlohmann::json;

struct ApiFixture : ::testing::Test {
  testing::FakeEngine engine{{}};
  Metrics metrics;
  AdmissionControl admission{4, 4};

  std::unique_ptr<HttpApi> make(std::vector<std::string> keys = {},
                                std::vector<std::string> origins = {}) {
    auto api = std::make_unique<HttpApi>(ApiKeyAuth(std::move(keys)),
                                         CorsPolicy(std::move(origins)), &metrics, &admission);
    ServedModel m;
    m.id = "smollm2";
    m.aliases = {"default"};
    m.engine = &engine;
    m.created = 1700000000;
    api->publish(std::make_shared<ModelCatalog>(std::vector<ServedModel>{m}));
    return api;
  }

  static HttpRequest req(std::string method, std::string target, std::string body = "",
                         HttpHeaders headers = {}) {
    return HttpRequest{std::move(method), std::move(target), std::move(headers), std::move(body)};
  }

  static const HttpResponse& response(const ApiOutcome& o) {
    return std::get<HttpResponse>(o.action);
  }
  static json body(const ApiOutcome& o) { return json::parse(response(o).body); }
};

TEST_F(ApiFixture, ListsModels) {
  auto api = make();
  auto o = api->handle(req("GET", "/v1/models"));
  EXPECT_EQ(response(o).status, 200);
  json j = body(o);
  EXPECT_EQ(j["object"], "list");
  ASSERT_EQ(j["data"].size(), 1u);
  EXPECT_EQ(j["data"][0]["id"], "smollm2");
  EXPECT_EQ(j["data"][0]["object"], "model");
  EXPECT_EQ(j["data"][0]["created"], 1700000000);
  EXPECT_EQ(j["data"][0]["owned_by"], "toolgate");
  EXPECT_EQ(find_header(o.common_headers, "x-request-id").rfind("req_", 0), 0u);
}

TEST_F(ApiFixture, RetrievesModelByIdAndAlias) {
  auto api = make();
  EXPECT_EQ(body(api->handle(req("GET", "/v1/models/smollm2")))["id"], "smollm2");
  EXPECT_EQ(body(api->handle(req("GET", "/v1/models/default")))["id"], "smollm2");
  auto o = api->handle(req("GET", "/v1/models/nope"));
  EXPECT_EQ(response(o).status, 404);
  EXPECT_EQ(body(o)["error"]["code"], "model_not_found");
}

TEST_F(ApiFixture, EveryAnswerToALimitedKeyCarriesItsLimitsButOnlyCompletionsTakeARequest) {
  auto named = std::make_shared<KeyPolicies>(std::vector<NamedApiKey>{
      {"alice", "sk-alice", {}, 60, 0, false}, {"bob", "sk-bob", {}, 0, 0, false}});
  HttpApi api(ApiKeyAuth({"sk-flat"}, named), CorsPolicy({}), &metrics, &admission);
  ServedModel m;
  m.id = "smollm2";
  m.engine = &engine;
  api.publish(std::make_shared<ModelCatalog>(std::vector<ServedModel>{m}));
  const HttpHeaders alice{{"Authorization", "Bearer sk-alice"}};
  for (int i = 0; i < 2; ++i) {
    auto list = api.handle(req("GET", "/v1/models", "", alice));
    EXPECT_EQ(response(list).status, 200);
    EXPECT_EQ(find_header(list.common_headers, "x-ratelimit-limit-requests"), "60");
    EXPECT_EQ(find_header(list.common_headers, "x-ratelimit-remaining-requests"), "60");
    EXPECT_FALSE(find_header(list.common_headers, "x-ratelimit-reset-requests").empty());
  }
  auto missing = api.handle(req("GET", "/v1/models/nope", "", alice));
  EXPECT_EQ(response(missing).status, 404);
  EXPECT_EQ(find_header(missing.common_headers, "x-ratelimit-remaining-requests"), "60");
  auto chat = api.handle(req("POST", "/v1/chat/completions",
                             json{{"model", "smollm2"},
                                  {"messages", {{{"role", "user"}, {"content", "hi"}}}}}
                                 .dump(),
                             alice));
  ASSERT_TRUE(std::holds_alternative<ChatCompletionStart>(chat.action));
  EXPECT_EQ(find_header(chat.common_headers, "x-ratelimit-remaining-requests"), "59");
  auto after = api.handle(req("GET", "/v1/models", "", alice));
  EXPECT_EQ(find_header(after.common_headers, "x-ratelimit-remaining-requests"), "59");
  // A key without limits, a flat key and a refused key get none.
  for (const char* key : {"Bearer sk-bob", "Bearer sk-flat", "Bearer sk-nobody"}) {
    auto o = api.handle(req("GET", "/v1/models", "", {{"Authorization", key}}));
    EXPECT_EQ(find_header(o.common_headers, "x-ratelimit-limit-requests"), "") << key;
  }
}

TEST_F(ApiFixture, AdminReloadRunsOffTheIoThreadWhereTheServerPostsIt) {
  auto policies = std::make_shared<KeyPolicies>(std::vector<NamedApiKey>{
      {"ops", "sk-ops", {}, 0, 0, true}, {"alice", "sk-alice", {}, 0, 0, false}});
  HttpApi api(ApiKeyAuth({}, policies), CorsPolicy({}), &metrics, &admission);
  int reloads = 0;
  int posted = 0;
  api.set_reload_handler(
      [&reloads]() -> std::vector<std::string> {
        ++reloads;
        return {"toolgate.yaml:3:5: models[0].path: no such file"};
      },
      [&posted](std::function<void()> task) {
        ++posted;
        task();
      });
  auto denied =
      api.handle(req("POST", "/admin/reload", "", {{"Authorization", "Bearer sk-alice"}}));
  EXPECT_EQ(response(denied).status, 403);

  auto o = api.handle(req("POST", "/admin/reload", "", {{"Authorization", "Bearer sk-ops"}}));
  auto* deferred = std::get_if<DeferredResponse>(&o.action);
  ASSERT_NE(deferred, nullptr);
  EXPECT_EQ(reloads, 0);  // nothing ran on the calling (I/O) thread
  ASSERT_TRUE(deferred->post);
  HttpResponse r;
  deferred->post([&] { r = deferred->run(); });
  EXPECT_EQ(posted, 1);
  EXPECT_EQ(reloads, 1);
  EXPECT_EQ(r.status, 400);
  json j = json::parse(r.body);
  EXPECT_EQ(j["reloaded"], false);
  EXPECT_EQ(j["errors"].size(), 1u);
}

TEST_F(ApiFixture, UnknownRouteIs404AndWrongMethodIs405) {
  auto api = make();
  auto o = api->handle(req("GET", "/v1/completions/xyz"));
  EXPECT_EQ(response(o).status, 404);
  EXPECT_EQ(body(o)["error"]["type"], "invalid_request_error");
  auto m = api->handle(req("GET", "/v1/chat/completions"));
  EXPECT_EQ(response(m).status, 405);
  EXPECT_EQ(find_header(response(m).headers, "Allow"), "POST");
  EXPECT_EQ(response(api->handle(req("DELETE", "/v1/models"))).status, 405);
}

TEST_F(ApiFixture, HealthIs503UntilModelsArePublished) {
  HttpApi api(ApiKeyAuth({}), CorsPolicy({}), &metrics, &admission);
  EXPECT_EQ(response(api.handle(req("GET", "/health"))).status, 503);
  auto loaded = make();
  auto o = loaded->handle(req("GET", "/health"));
  EXPECT_EQ(response(o).status, 200);
  EXPECT_EQ(body(o)["status"], "ok");
}

TEST_F(ApiFixture, ModelStillLoadingIs503WithRetryAfterNot404) {
  HttpApi api(ApiKeyAuth({}), CorsPolicy({}), &metrics, &admission);
  ServedModel ready;
  ready.id = "small";
  ready.engine = &engine;
  // "big" (alias "agent") is configured but not loaded yet.
  api.publish(std::make_shared<ModelCatalog>(std::vector<ServedModel>{ready},
                                             std::vector<std::string>{"big", "agent"}));
  EXPECT_EQ(response(api.handle(req("GET", "/health"))).status, 503);  // not every model is ready
  for (const char* name : {"big", "agent"}) {
    auto chat = api.handle(req("POST", "/v1/chat/completions",
                               json{{"model", name},
                                    {"messages", {{{"role", "user"}, {"content", "hi"}}}}}
                                   .dump()));
    EXPECT_EQ(response(chat).status, 503) << name;
    EXPECT_EQ(body(chat)["error"]["code"], "model_loading");
    EXPECT_EQ(body(chat)["error"]["param"], "model");
    EXPECT_EQ(body(chat)["error"]["type"], "server_error");
    EXPECT_NE(body(chat)["error"]["message"].get<std::string>().find(name), std::string::npos);
    EXPECT_EQ(find_header(response(chat).headers, "Retry-After"), "2");
    auto get = api.handle(req("GET", std::string("/v1/models/") + name));
    EXPECT_EQ(response(get).status, 503);
  }
  // A model that is not configured at all stays 404, and the loaded one is served.
  EXPECT_EQ(response(api.handle(req("GET", "/v1/models/nope"))).status, 404);
  EXPECT_EQ(response(api.handle(req("GET", "/v1/models/small"))).status, 200);
  // The listing shows only what can answer now.
  EXPECT_EQ(body(api.handle(req("GET", "/v1/models")))["data"].size(), 1u);
  // Once it has loaded: health turns 200.
  ServedModel big;
  big.id = "big";
  big.aliases = {"agent"};
  big.engine = &engine;
  api.publish(std::make_shared<ModelCatalog>(std::vector<ServedModel>{ready, big}));
  EXPECT_EQ(response(api.handle(req("GET", "/health"))).status, 200);
  EXPECT_EQ(response(api.handle(req("GET", "/v1/models/agent"))).status, 200);
}

TEST_F(ApiFixture, MissingOrWrongKeyIs401AndHealthNeedsNoKey) {
  auto api = make({"sk-secret"});
  auto none = api->handle(req("GET", "/v1/models"));
  EXPECT_EQ(response(none).status, 401);
  EXPECT_EQ(body(none)["error"]["code"], "invalid_api_key");
  auto wrong = api->handle(req("GET", "/v1/models", "", {{"Authorization", "Bearer sk-nope"}}));
  EXPECT_EQ(response(wrong).status, 401);
  auto right = api->handle(req("GET", "/v1/models", "", {{"authorization", "Bearer sk-secret"}}));
  EXPECT_EQ(response(right).status, 200);
  EXPECT_EQ(response(api->handle(req("GET", "/health"))).status, 200);
  auto chat = api->handle(req("POST", "/v1/chat/completions", "{}"));
  EXPECT_EQ(response(chat).status, 401);  // auth before body parsing
}

TEST(ApiKeyAuth, AcceptsBearerCaseInsensitivelyAndRejectsOtherSchemes) {
  ApiKeyAuth auth({"k1", "k2"});
  EXPECT_FALSE(auth.check("Bearer k2"));
  EXPECT_FALSE(auth.check("bearer k1"));
  EXPECT_TRUE(auth.check("Basic k1"));
  EXPECT_TRUE(auth.check("Bearer k"));
  EXPECT_TRUE(auth.check("Bearer k1x"));
  EXPECT_TRUE(auth.check(""));
  EXPECT_FALSE(ApiKeyAuth({}).check(""));
}

TEST_F(ApiFixture, InvalidJsonIs400) {
  auto api = make();
  auto o = api->handle(req("POST", "/v1/chat/completions", "{\"model\": "));
  EXPECT_EQ(response(o).status, 400);
  EXPECT_EQ(body(o)["error"]["type"], "invalid_request_error");
  EXPECT_NE(body(o)["error"]["message"].get<std::string>().find("JSON"), std::string::npos);
}

TEST_F(ApiFixture, BadParameterIs400NamingIt) {
  auto api = make();
  auto o = api->handle(
      req("POST", "/v1/chat/completions",
          R"({"model":"smollm2","messages":[{"role":"user","content":"x"}],"temperature":"hot"})"));
  EXPECT_EQ(response(o).status, 400);
  EXPECT_EQ(body(o)["error"]["param"], "temperature");
}

TEST_F(ApiFixture, UnknownModelIs404) {
  auto api = make();
  auto o = api->handle(req("POST", "/v1/chat/completions",
                           R"({"model":"gpt-9","messages":[{"role":"user","content":"x"}]})"));
  EXPECT_EQ(response(o).status, 404);
  EXPECT_EQ(body(o)["error"]["code"], "model_not_found");
  EXPECT_EQ(body(o)["error"]["param"], "model");
}

TEST_F(ApiFixture, ValidChatRequestStartsACompletionBoundToTheModel) {
  auto api = make();
  auto o = api->handle(req("POST", "/v1/chat/completions",
                           R"({"model":"default","messages":[{"role":"user","content":"x"}]})"));
  auto* start = std::get_if<ChatCompletionStart>(&o.action);
  ASSERT_TRUE(start);
  EXPECT_EQ(start->model->id, "smollm2");
  EXPECT_EQ(o.model, "smollm2");
}

TEST_F(ApiFixture, CorsHeadersOnlyForAllowedOrigins) {
  auto api = make({}, {"https://app.example"});
  auto ok = api->handle(req("GET", "/v1/models", "", {{"Origin", "https://app.example"}}));
  EXPECT_EQ(find_header(ok.common_headers, "Access-Control-Allow-Origin"), "https://app.example");
  auto other = api->handle(req("GET", "/v1/models", "", {{"Origin", "https://evil.example"}}));
  EXPECT_EQ(find_header(other.common_headers, "Access-Control-Allow-Origin"), "");
}

TEST_F(ApiFixture, PreflightNeedsNoKeyAndEchoesRequestedHeaders) {
  auto api = make({"sk"}, {"*"});
  auto o = api->handle(req("OPTIONS", "/v1/chat/completions", "",
                           {{"Origin", "http://localhost:3000"},
                            {"Access-Control-Request-Method", "POST"},
                            {"Access-Control-Request-Headers", "authorization, content-type"}}));
  const auto& r = response(o);
  EXPECT_EQ(r.status, 204);
  EXPECT_EQ(find_header(r.headers, "Access-Control-Allow-Origin"), "http://localhost:3000");
  EXPECT_EQ(find_header(r.headers, "Access-Control-Allow-Headers"), "authorization, content-type");
  EXPECT_NE(find_header(r.headers, "Access-Control-Allow-Methods").find("POST"), std::string::npos);
}

TEST_F(ApiFixture, MetricsAreServedInPrometheusFormat) {
  auto api = make();
  metrics.count_http_response(200);
  auto o = api->handle(req("GET", "/metrics"));
  const auto& r = response(o);
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(find_header(r.headers, "Content-Type").find("text/plain"), std::string::npos);
  EXPECT_NE(r.body.find("toolgate:kv_blocks_used{model_name=\"smollm2\"} 0\n"), std::string::npos);
  EXPECT_NE(r.body.find("toolgate:http_requests_total{status=\"200\"} 1\n"), std::string::npos);
}

TEST(UrlDecode, DecodesPercentEscapes) {
  EXPECT_EQ(url_decode("org%2Fmodel"), "org/model");
  EXPECT_EQ(url_decode("bad%zz%4"), "bad%zz%4");
}

TEST(Metrics, RendersEveryVllmStyleFamily) {
  Metrics m;
  m.observe_time_to_first_token(0.05);
  m.observe_inter_token_latency(0.02);
  m.observe_e2e_latency(1.2);
  engine::EngineStats s;
  s.running = 2;
  s.waiting = 1;
  s.kv_blocks_total = 10;
  s.kv_blocks_used = 5;
  s.prefix_cache_hits = 7;
  s.prompt_tokens_total = 100;
  s.generation_tokens_total = 50;
  s.preemptions = 3;
  std::string text = m.render({{"a", s}}, 1, 0);
  for (const char* line : {"toolgate:num_requests_running{model_name=\"a\"} 2\n",
                           "toolgate:num_requests_waiting{model_name=\"a\"} 1\n",
                           "toolgate:kv_cache_usage_perc{model_name=\"a\"} 0.5\n",
                           "toolgate:kv_blocks_used{model_name=\"a\"} 5\n",
                           "toolgate:prefix_cache_hits_total{model_name=\"a\"} 7\n",
                           "toolgate:prompt_tokens_total{model_name=\"a\"} 100\n",
                           "toolgate:generation_tokens_total{model_name=\"a\"} 50\n",
                           "toolgate:preemptions_total{model_name=\"a\"} 3\n",
                           "# TYPE toolgate:time_to_first_token_seconds histogram\n",
                           "toolgate:time_to_first_token_seconds_bucket{le=\"0.04\"} 0\n",
                           "toolgate:time_to_first_token_seconds_bucket{le=\"0.06\"} 1\n",
                           "toolgate:time_to_first_token_seconds_bucket{le=\"+Inf\"} 1\n",
                           "toolgate:time_to_first_token_seconds_count 1\n",
                           "toolgate:inter_token_latency_seconds_count 1\n",
                           "toolgate:e2e_request_latency_seconds_sum 1.2\n"}) {
    EXPECT_NE(text.find(line), std::string::npos) << line;
  }
  // Every sample line is "name{labels} value" or "name value".
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    EXPECT_EQ(std::count(line.begin(), line.end(), ' '), 1) << line;
  }
}

TEST(AdmissionControl, RunsUpToLimitQueuesThenRefuses) {
  AdmissionControl ac(1, 1);
  int started = 0;
  auto a = ac.enter([&] { ++started; });
  auto b = ac.enter([&] { ++started; });
  auto c = ac.enter([&] { ++started; });
  ASSERT_TRUE(a);
  ASSERT_TRUE(b);
  EXPECT_FALSE(c);
  EXPECT_EQ(started, 1);
  EXPECT_EQ(ac.running(), 1);
  EXPECT_EQ(ac.waiting(), 1);
  ac.leave(a);
  EXPECT_EQ(started, 2);
  ac.leave(a);  // idempotent
  EXPECT_EQ(ac.running(), 1);
  ac.leave(b);
  EXPECT_EQ(ac.running(), 0);
}

TEST(AdmissionControl, WithdrawnWaiterNeverStarts) {
  AdmissionControl ac(1, 2);
  bool b_started = false;
  auto a = ac.enter([] {});
  auto b = ac.enter([&] { b_started = true; });
  ac.leave(b);
  ac.leave(a);
  EXPECT_FALSE(b_started);
  EXPECT_EQ(ac.running(), 0);
  EXPECT_EQ(ac.waiting(), 0);
}

}  // namespace
}  // namespace toolgate::gateway
