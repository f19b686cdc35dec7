// Request bodies that nest too deeply are refused before anything parses them: a million '['
// in a tool's `parameters` used to overflow the handling thread's stack and kill the server.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "fakes.h"
#include "gateway/admission_control.h"
#include "gateway/http_api.h"
#include "gateway/json_nesting.h"
#include "gateway/metrics.h"

namespace toolgate::gateway {
namespace {

std::string nested(int depth, std::string_view inner = "1") {
  return std::string(depth, '[') + std::string(inner) + std::string(depth, ']');
}

TEST(JsonNesting, CountsArraysAndObjectsOutsideStrings) {
  EXPECT_EQ(json_nesting_depth("1"), 0);
  EXPECT_EQ(json_nesting_depth(R"({"a": [1, {"b": []}]})"), 4);
  EXPECT_EQ(json_nesting_depth(R"({"a": "[[[[{{{{", "b": "\"[[["})"), 1);
  EXPECT_EQ(json_nesting_depth("]]]}}}[["), 2);  // not JSON: still a depth, never negative
  EXPECT_EQ(json_nesting_depth(nested(kMaxJsonNesting)), kMaxJsonNesting);
  EXPECT_FALSE(json_too_deep(nested(kMaxJsonNesting)));
  EXPECT_TRUE(json_too_deep(nested(kMaxJsonNesting + 1)));
  // Stops counting past the limit: a huge body costs one partial scan.
  EXPECT_EQ(json_nesting_depth(nested(1'000'000), 10), 11);
}

struct NestingFixture : ::testing::Test {
  testing::FakeEngine engine{{}};
  Metrics metrics;
  AdmissionControl admission{4, 4};
  HttpApi api{ApiKeyAuth({}), CorsPolicy({}), &metrics, &admission};

  NestingFixture() {
    ServedModel m;
    m.id = "smollm2";
    m.engine = &engine;
    api.publish(std::make_shared<ModelCatalog>(std::vector<ServedModel>{m}));
  }

  ApiOutcome post(const std::string& path, const std::string& body) const {
    return api.handle(HttpRequest{"POST", path, {}, body});
  }
};

std::string chat_with_tool_parameters(const std::string& parameters) {
  return R"({"model": "smollm2", "messages": [{"role": "user", "content": "hi"}],
             "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object", "x": )" +
         parameters + "}}}]}";
}

TEST_F(NestingFixture, AMillionLevelsInAToolSchemaIs400NotACrash) {
  for (const char* path : {"/v1/chat/completions", "/v1/completions", "/infill", "/api/chat"}) {
    ApiOutcome o = post(path, chat_with_tool_parameters(nested(1'000'000)));
    const auto& r = std::get<HttpResponse>(o.action);
    EXPECT_EQ(r.status, 400) << path;
    auto body = nlohmann::json::parse(r.body);
    EXPECT_EQ(body["error"]["type"], "invalid_request_error") << path;
    EXPECT_NE(body["error"]["message"].get<std::string>().find("deeper than 128 levels"),
              std::string::npos)
        << path;
  }
}

TEST_F(NestingFixture, NestingWithinTheLimitIsServed) {
  // 128 levels in all: the body's object, tools, the tool, function, parameters, then x.
  ApiOutcome o = post("/v1/chat/completions", chat_with_tool_parameters(nested(kMaxJsonNesting - 5)));
  EXPECT_TRUE(std::holds_alternative<ChatCompletionStart>(o.action));
}

}  // namespace
}  // namespace toolgate::gateway
