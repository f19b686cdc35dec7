// Upstream models in the routing layer: listed with owned_by "upstream", and their chat
// completions are handed on as forwarded bodies, not through the local request parser.
#include <gtest/gtest.h>

#include "gateway/admission_control.h"
#include "gateway/http_api.h"
#include "gateway/metrics.h"
#include "gateway/upstream_model.h"
#include "gateway/upstream_target.h"

namespace toolgate::gateway {
namespace {

using nlohmann::json;

struct UpstreamRoutingFixture : ::testing::Test {
  Metrics metrics;
  AdmissionControl admission{4, 4};
  HttpApi api{ApiKeyAuth({}), CorsPolicy({}), &metrics, &admission};

  void SetUp() override {
    ServedModel remote;
    remote.id = "remote";
    remote.aliases = {"r"};
    remote.owned_by = "upstream";
    auto target = std::make_shared<UpstreamTarget>();
    target->base_url = "http://127.0.0.1:9/v1";
    target->remote_model = "their-name";
    remote.upstream = target;
    api.publish(std::make_shared<ModelCatalog>(std::vector<ServedModel>{remote}));
  }

  ApiOutcome post(std::string body) {
    return api.handle(HttpRequest{"POST", "/v1/chat/completions", {}, std::move(body)});
  }
};

TEST_F(UpstreamRoutingFixture, ModelsListShowsUpstreamOwnership) {
  auto o = api.handle(HttpRequest{"GET", "/v1/models", {}, ""});
  json j = json::parse(std::get<HttpResponse>(o.action).body);
  EXPECT_EQ(j["data"][0]["id"], "remote");
  EXPECT_EQ(j["data"][0]["owned_by"], "upstream");
}

TEST_F(UpstreamRoutingFixture, HealthDoesNotDependOnTheUpstream) {
  // The upstream address is a closed port; /health answers from the catalog alone.
  auto o = api.handle(HttpRequest{"GET", "/health", {}, ""});
  EXPECT_EQ(std::get<HttpResponse>(o.action).status, 200);
}

TEST_F(UpstreamRoutingFixture, ChatForAnAliasIsForwardedWithTheBodyAsSent) {
  // Image parts would be refused by the local parser; the upstream may accept them.
  auto o = post(R"({"model":"r","stream":true,"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:,"}}]}]})");
  auto* start = std::get_if<ChatCompletionStart>(&o.action);
  ASSERT_NE(start, nullptr);
  ASSERT_TRUE(start->upstream);
  EXPECT_TRUE(start->upstream->stream);
  EXPECT_EQ(start->model->id, "remote");
  EXPECT_EQ(o.model, "remote");
  EXPECT_EQ(start->upstream->body["messages"][0]["content"][0]["type"], "image_url");
}

TEST_F(UpstreamRoutingFixture, ABadStreamFlagIsStillA400) {
  auto o = post(R"({"model":"remote","stream":"yes","messages":[]})");
  auto& r = std::get<HttpResponse>(o.action);
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(json::parse(r.body)["error"]["param"], "stream");
}

TEST_F(UpstreamRoutingFixture, UnknownModelIsStill404) {
  auto o = post(R"({"model":"nope","messages":[{"role":"user","content":"hi"}]})");
  EXPECT_EQ(std::get<HttpResponse>(o.action).status, 404);
}

TEST(UpstreamServedModel, KeepsItsServerToolsForTheToolLoop) {
  config::ModelConfig m;
  m.id = "remote";
  m.upstream.emplace();
  m.upstream->base_url = "http://127.0.0.1:8000/v1";
  m.upstream->model = "their-name";
  m.server_tools = {"calculator"};
  ServedModel sm = make_upstream_served_model(m, SamplingDefaults{}, 0);
  EXPECT_EQ(sm.server_tools, std::vector<std::string>{"calculator"});
  EXPECT_EQ(sm.upstream->remote_model, "their-name");
  m.upstream->base_url = "ftp://example.com/v1";
  EXPECT_THROW(make_upstream_served_model(m, SamplingDefaults{}, 0), std::runtime_error);
}

}  // namespace
}  // namespace toolgate::gateway
