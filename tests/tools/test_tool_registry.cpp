#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "tools/tool_registry.h"

namespace toolgate::tools {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

// A tool whose behaviour each test scripts.
class ScriptedTool final : public Tool {
 public:
  ScriptedTool(std::string name, json parameters, std::function<json(const json&)> body)
      : spec_{std::move(name), "a test tool", std::move(parameters)}, body_(std::move(body)) {}
  const ToolSpec& spec() const override { return spec_; }
  json invoke(const json& arguments) override { return body_(arguments); }

 private:
  ToolSpec spec_;
  std::function<json(const json&)> body_;
};

const json kEchoSchema = json::parse(R"({
  "type": "object",
  "properties": {"text": {"type": "string"}, "n": {"type": "integer", "minimum": 0}},
  "required": ["text"],
  "additionalProperties": false})");

std::unique_ptr<Tool> echo_tool(std::string name = "echo") {
  return std::make_unique<ScriptedTool>(std::move(name), kEchoSchema,
                                        [](const json& args) { return args; });
}

TEST(ToolRegistry, FindsAndListsToolsInInsertionOrder) {
  ToolRegistry registry;
  registry.add(echo_tool("zeta"));
  registry.add(echo_tool("alpha"));
  ASSERT_NE(registry.find("zeta"), nullptr);
  EXPECT_EQ(registry.find("zeta")->spec().name, "zeta");
  EXPECT_EQ(registry.find("missing"), nullptr);
  const auto specs = registry.list();
  ASSERT_EQ(specs.size(), 2u);
  EXPECT_EQ(specs[0]->name, "zeta");
  EXPECT_EQ(specs[1]->name, "alpha");
}

TEST(ToolRegistry, RejectsDuplicateAndInvalidNames) {
  ToolRegistry registry;
  registry.add(echo_tool("echo"));
  EXPECT_THROW(registry.add(echo_tool("echo")), std::invalid_argument);
  EXPECT_THROW(registry.add(echo_tool("has space")), std::invalid_argument);
  EXPECT_THROW(registry.add(echo_tool("")), std::invalid_argument);
  EXPECT_THROW(registry.add(echo_tool(std::string(65, 'a'))), std::invalid_argument);
  EXPECT_THROW(registry.add(nullptr), std::invalid_argument);
  EXPECT_THROW(registry.add(std::make_unique<ScriptedTool>("bad_schema", json::array(),
                                                           [](const json&) { return 1; })),
               std::invalid_argument);
  EXPECT_EQ(registry.list().size(), 1u);
}

TEST(ToolRegistry, InvokesWithArgumentObject) {
  ToolRegistry registry;
  registry.add(echo_tool());
  const auto r = registry.invoke("echo", json{{"text", "hi"}}, 1s);
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.value, json({{"text", "hi"}}));
  EXPECT_EQ(r.as_content(), R"({"text":"hi"})");
  EXPECT_GT(r.elapsed.count(), 0);
}

TEST(ToolRegistry, ParsesArgumentsGivenAsJsonString) {
  ToolRegistry registry;
  registry.add(echo_tool());
  const auto r = registry.invoke("echo", R"({"text": "hi", "n": 3})", 1s);
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.value["n"], 3);
}

TEST(ToolRegistry, EmptyOrNullArgumentsMeanEmptyObject) {
  ToolRegistry registry;
  registry.add(std::make_unique<ScriptedTool>("noargs", json{{"type", "object"}},
                                              [](const json& a) { return a; }));
  EXPECT_EQ(registry.invoke("noargs", "", 1s).value, json::object());
  EXPECT_EQ(registry.invoke("noargs", " ", 1s).value, json::object());
  EXPECT_EQ(registry.invoke("noargs", nullptr, 1s).value, json::object());
}

TEST(ToolRegistry, InvalidJsonArgumentsAreAnErrorResult) {
  ToolRegistry registry;
  registry.add(echo_tool());
  const auto r = registry.invoke("echo", R"({"text": "hi",)", 1s);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.error.rfind("tool 'echo': arguments are not valid JSON: ", 0), 0u) << r.error;
  const auto content = json::parse(r.as_content());
  EXPECT_EQ(content["error"], r.error);
}

TEST(ToolRegistry, ArgumentsMustBeAnObject) {
  ToolRegistry registry;
  registry.add(echo_tool());
  EXPECT_EQ(registry.invoke("echo", "[1,2]", 1s).error,
            "tool 'echo': arguments must be a JSON object, got array");
  EXPECT_EQ(registry.invoke("echo", json(5), 1s).error,
            "tool 'echo': arguments must be a JSON object, got integer");
}

TEST(ToolRegistry, SchemaViolationsAreReportedWithoutCallingTheTool) {
  std::atomic<int> calls{0};
  ToolRegistry registry;
  registry.add(std::make_unique<ScriptedTool>("echo", kEchoSchema, [&](const json& a) {
    ++calls;
    return a;
  }));
  const auto r = registry.invoke("echo", R"({"n": -1, "extra": true})", 1s);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.error,
            "tool 'echo': invalid arguments: /text: required property is missing; "
            "/extra: unexpected property; /n: must be >= 0, got -1");
  EXPECT_EQ(calls.load(), 0);
}

TEST(ToolRegistry, UnknownToolIsAnErrorResult) {
  ToolRegistry registry;
  const auto r = registry.invoke("nope", "{}", 1s);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.error, "unknown tool 'nope'");
  EXPECT_EQ(r.as_content(), R"({"error":"unknown tool 'nope'"})");
}

TEST(ToolRegistry, ThrowingToolBecomesAnErrorResult) {
  ToolRegistry registry;
  registry.add(std::make_unique<ScriptedTool>(
      "boom", json{{"type", "object"}},
      [](const json&) -> json { throw std::runtime_error("disk on fire"); }));
  registry.add(
      std::make_unique<ScriptedTool>("weird", json{{"type", "object"}}, [](const json&) -> json {
        throw 42;  // not even a std::exception
      }));
  EXPECT_EQ(registry.invoke("boom", "{}", 1s).error, "tool 'boom' failed: disk on fire");
  EXPECT_EQ(registry.invoke("weird", "{}", 1s).error, "tool 'weird' failed: unknown exception");
  // Same without a deadline, where the tool runs on the calling thread.
  EXPECT_EQ(registry.invoke("boom", "{}", 0ms).error, "tool 'boom' failed: disk on fire");
}

TEST(ToolRegistry, SlowToolTimesOutAndIsAbandonedSafely) {
  auto finished = std::make_shared<std::atomic<bool>>(false);
  ToolRegistry registry;
  registry.add(
      std::make_unique<ScriptedTool>("sleepy", json{{"type", "object"}}, [finished](const json&) {
        std::this_thread::sleep_for(300ms);
        finished->store(true);
        return json{{"late", true}};
      }));
  const auto start = std::chrono::steady_clock::now();
  const auto r = registry.invoke("sleepy", "{}", 50ms);
  const auto waited = std::chrono::steady_clock::now() - start;
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.error, "tool 'sleepy' timed out after 50 ms");
  EXPECT_LT(waited, 250ms);
  EXPECT_GE(r.elapsed, 50ms);
  EXPECT_EQ(registry.abandoned_calls(), 1);
  // The abandoned worker finishes on its own and is no longer counted.
  for (int i = 0; i < 100 && registry.abandoned_calls() != 0; ++i)
    std::this_thread::sleep_for(10ms);
  EXPECT_TRUE(finished->load());
  EXPECT_EQ(registry.abandoned_calls(), 0);
}

TEST(ToolRegistry, AbandonedCallOutlivesTheRegistry) {
  auto finished = std::make_shared<std::atomic<bool>>(false);
  {
    ToolRegistry registry;
    registry.add(std::make_unique<ScriptedTool>(
        "sleepy", json{{"type", "object"}}, [finished](const json& a) {
          std::this_thread::sleep_for(100ms);
          finished->store(true);
          return a;  // touches its arguments after the registry is gone
        }));
    EXPECT_FALSE(registry.invoke("sleepy", R"({"payload": "x"})", 10ms).ok);
  }
  for (int i = 0; i < 100 && !finished->load(); ++i) std::this_thread::sleep_for(10ms);
  EXPECT_TRUE(finished->load());
  std::this_thread::sleep_for(20ms);  // let the worker release the tool
}

TEST(ToolRegistry, RefusesNewCallsWhileTooManyAreAbandoned) {
  auto release = std::make_shared<std::atomic<bool>>(false);
  ToolRegistry registry(/*max_abandoned_calls=*/1);
  registry.add(
      std::make_unique<ScriptedTool>("stuck", json{{"type", "object"}}, [release](const json&) {
        while (!release->load()) std::this_thread::sleep_for(5ms);
        return json::object();
      }));
  EXPECT_EQ(registry.invoke("stuck", "{}", 10ms).error, "tool 'stuck' timed out after 10 ms");
  const auto refused = registry.invoke("stuck", "{}", 10ms);
  EXPECT_FALSE(refused.ok);
  EXPECT_EQ(refused.error,
            "tool 'stuck' was not run: 1 earlier tool calls are still running past their "
            "deadline; try again later");
  release->store(true);
  for (int i = 0; i < 100 && registry.abandoned_calls() != 0; ++i)
    std::this_thread::sleep_for(10ms);
  EXPECT_TRUE(registry.invoke("stuck", "{}", 1s).ok);
}

TEST(ToolRegistry, FastToolFinishesWellWithinItsDeadline) {
  ToolRegistry registry;
  registry.add(echo_tool());
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(registry.invoke("echo", R"({"text":"x"})", 1s).ok);
  EXPECT_EQ(registry.abandoned_calls(), 0);
}

TEST(ToolRegistry, ConcurrentInvokesAreSafe) {
  ToolRegistry registry;
  registry.add(echo_tool());
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 25; ++i) ok += registry.invoke("echo", R"({"text":"x"})", 1s).ok;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 100);
}

TEST(ToolResult, ContentReplacesInvalidUtf8InsteadOfThrowing) {
  ToolResult r;
  r.ok = true;
  r.value = json{{"text", std::string("bad \xff byte")}};
  EXPECT_EQ(r.as_content(), "{\"text\":\"bad \xEF\xBF\xBD byte\"}");
}

TEST(ToolRegistry, RendersOpenAiToolsArray) {
  ToolRegistry registry;
  registry.add(echo_tool("echo"));
  registry.add(std::make_unique<ScriptedTool>("noargs", nullptr, [](const json&) { return 1; }));
  const json tools = registry.openai_tools_json({"noargs", "echo"});
  ASSERT_EQ(tools.size(), 2u);
  EXPECT_EQ(tools[0], json::parse(R"({"type":"function","function":{"name":"noargs",
      "description":"a test tool","parameters":{"type":"object","properties":{}}}})"));
  EXPECT_EQ(tools[1]["function"]["parameters"], kEchoSchema);
  EXPECT_EQ(registry.openai_tools_json().size(), 2u);
  EXPECT_EQ(registry.openai_tools_json()[0]["function"]["name"], "echo");
  EXPECT_THROW(registry.openai_tools_json({"missing"}), std::invalid_argument);
}

}  // namespace
}  // namespace toolgate::tools
