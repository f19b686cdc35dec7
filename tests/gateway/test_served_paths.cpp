// Path traversal: no request target reaches a file. The web UI is an embedded table matched by
// exact path (nothing is read from disk at run time), model names resolve only through the
// catalog, and stored-completion ids are bound SQL parameters. These tests throw the usual
// traversal spellings at every route that maps a path or a name to content.
#include <gtest/gtest.h>

#include "fakes.h"
#include "gateway/admission_control.h"
#include "gateway/api_key_auth.h"
#include "gateway/cors_policy.h"
#include "gateway/http_api.h"
#include "gateway/metrics.h"
#include "gateway/web_ui.h"

namespace toolgate::gateway {
namespace {

using nlohmann::json;

const std::vector<std::string> kTraversals = {
    "/../../../../etc/passwd",
    "/ui/../../../../etc/passwd",
    "/ui/../index.html",
    "/ui/..%2f..%2f..%2fetc%2fpasswd",
    "/ui/%2e%2e/%2e%2e/etc/passwd",
    "/ui/%252e%252e/etc/passwd",
    "/ui//etc/passwd",
    "/ui/..\\..\\etc\\passwd",
    "/ui/app.js%00.png",
    "/ui/./app.js",
    "//etc/passwd",
    "/index.html/../../etc/passwd",
    "/%2e%2e/%2e%2e/etc/passwd",
};

TEST(ServedPaths, EmbeddedWebAssetsHaveOnlyPlainPaths) {
  ASSERT_GT(kWebAssetCount, 0u);
  for (size_t i = 0; i < kWebAssetCount; ++i) {
    std::string_view p = kWebAssets[i].path;
    EXPECT_TRUE(p == "/index.html" || p.substr(0, 4) == "/ui/") << p;
    EXPECT_EQ(p.find(".."), std::string_view::npos) << p;
    EXPECT_EQ(p.find("//"), std::string_view::npos) << p;
    EXPECT_EQ(p.find('%'), std::string_view::npos) << p;
  }
}

TEST(ServedPaths, WebUiMatchesOnlyExactEmbeddedPaths) {
  for (const auto& t : kTraversals) EXPECT_FALSE(web_ui_response("GET", t).has_value()) << t;
  EXPECT_TRUE(web_ui_response("GET", "/").has_value());
  EXPECT_TRUE(web_ui_response("GET", "/ui/app.js").has_value());
}

struct ServedPathsApi : ::testing::Test {
  testing::FakeEngine engine{{}};
  Metrics metrics;
  AdmissionControl admission{4, 4};
  std::unique_ptr<HttpApi> api;

  ServedPathsApi() {
    api = std::make_unique<HttpApi>(ApiKeyAuth({}), CorsPolicy({}), &metrics, &admission);
    ServedModel m;
    m.id = "smollm2";
    m.engine = &engine;
    api->publish(std::make_shared<ModelCatalog>(std::vector<ServedModel>{m}));
    api->set_web_ui(true);
  }

  HttpResponse answer(const std::string& method, const std::string& target,
                      const std::string& body = "") {
    HttpHeaders headers;
    if (!body.empty()) headers.emplace_back("Content-Type", "application/json");
    ApiOutcome o = api->handle(HttpRequest{method, target, headers, body});
    if (auto* r = std::get_if<HttpResponse>(&o.action)) return *r;
    if (auto* d = std::get_if<DeferredResponse>(&o.action)) return d->run();
    ADD_FAILURE() << target << " started a generation";
    return {};
  }
};

// No answer carries a file's bytes: every traversal is a 404 in OpenAI's error shape (or a
// 405 for a known route with the wrong method), never the content of /etc/passwd.
TEST_F(ServedPathsApi, TraversalTargetsAre404OnEveryPrefix) {
  std::vector<std::string> targets = kTraversals;
  for (const auto& t : kTraversals) {
    targets.push_back("/v1/models" + t);
    targets.push_back("/v1/chat/completions" + t);
    targets.push_back("/api" + t);
  }
  for (const auto& t : targets) {
    HttpResponse r = answer("GET", t);
    EXPECT_TRUE(r.status == 404 || r.status == 405) << t << " -> " << r.status;
    EXPECT_EQ(r.body.find("root:"), std::string::npos) << t;
    EXPECT_TRUE(json::parse(r.body).contains("error")) << t;
  }
}

TEST_F(ServedPathsApi, ModelNamesThatLookLikePathsAreUnknownModels) {
  for (const std::string name : {"../../../../etc/passwd", "/etc/passwd", "..%2f..%2fetc%2fpasswd",
                                 "smollm2/../../etc/passwd"}) {
    HttpResponse show = answer("POST", "/api/show", json{{"model", name}}.dump());
    EXPECT_EQ(show.status, 404) << name;
    EXPECT_EQ(show.body.find("root:"), std::string::npos) << name;
    HttpResponse chat =
        answer("POST", "/v1/chat/completions",
               json{{"model", name}, {"messages", {{{"role", "user"}, {"content", "x"}}}}}.dump());
    EXPECT_EQ(chat.status, 404) << name;
  }
}

}  // namespace
}  // namespace toolgate::gateway
