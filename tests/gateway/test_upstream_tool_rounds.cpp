// The data side of the server-tool loop for upstream models: which tools are the server's,
// what each round sends upstream, and how an upstream answer is read back.
#include <gtest/gtest.h>

#include "fakes.h"
#include "gateway/upstream_tool_rounds.h"

namespace toolgate::gateway {
namespace {

using nlohmann::json;
using ojson = nlohmann::ordered_json;

UpstreamChatRequest request(ojson body) {
  if (!body.contains("messages"))
    body["messages"] = ojson::array({{{"role", "user"}, {"content", "hi"}}});
  return std::get<UpstreamChatRequest>(parse_upstream_chat_request(std::move(body)));
}

ServedModel model_with(std::vector<std::string> server_tools) {
  ServedModel m;
  m.id = "remote";
  m.server_tools = std::move(server_tools);
  return m;
}

UpstreamToolPlan plan_ok(const ojson& body, const ServedModel& m, const ServerToolbox* toolbox) {
  auto p = plan_upstream_tools(request(body), m, toolbox);
  EXPECT_TRUE(std::holds_alternative<UpstreamToolPlan>(p));
  return std::get<UpstreamToolPlan>(p);
}

ojson client_tool(const std::string& name) {
  return {{"type", "function"},
          {"function", {{"name", name}, {"parameters", {{"type", "object"}}}}}};
}

ojson name_only(const std::string& name) {
  return {{"type", "function"}, {"function", {{"name", name}}}};
}

std::vector<std::string> tool_names(const ojson& tools) {
  std::vector<std::string> names;
  for (const auto& t : tools) names.push_back(t["function"]["name"]);
  return names;
}

TEST(UpstreamToolPlan, NoServerToolsMeansNoLoopAndTheToolsAsSent) {
  testing::FakeToolbox toolbox;
  auto p = plan_ok({{"tools", ojson::array({client_tool("f")})}}, model_with({}), &toolbox);
  EXPECT_TRUE(p.server_tools.empty());
  EXPECT_TRUE(p.tools.is_null());
}

TEST(UpstreamToolPlan, TheModelsServerToolsAreAddedToTheClientsTools) {
  testing::FakeToolbox toolbox;
  auto p = plan_ok({{"tools", ojson::array({client_tool("f")})}}, model_with({"add"}), &toolbox);
  EXPECT_EQ(p.server_tools, std::set<std::string>{"add"});
  EXPECT_EQ(tool_names(p.tools), (std::vector<std::string>{"f", "add"}));
  EXPECT_EQ(p.tools[1]["function"]["description"], "server tool add");
}

TEST(UpstreamToolPlan, ANameOnlyDeclarationIsReplacedByTheServerToolsDefinition) {
  testing::FakeToolbox toolbox;
  auto p = plan_ok({{"tools", ojson::array({name_only("add"), client_tool("f")})}}, model_with({}),
                   &toolbox);
  EXPECT_EQ(p.server_tools, std::set<std::string>{"add"});
  EXPECT_EQ(tool_names(p.tools), (std::vector<std::string>{"f", "add"}));
  EXPECT_TRUE(p.tools[1]["function"].contains("parameters"));
}

TEST(UpstreamToolPlan, ANameOnlyToolTheToolboxLacksStaysTheClients) {
  testing::FakeToolbox toolbox;
  auto p = plan_ok({{"tools", ojson::array({name_only("web_search")})}}, model_with({}), &toolbox);
  EXPECT_TRUE(p.server_tools.empty());
  EXPECT_TRUE(p.tools.is_null());
}

TEST(UpstreamToolPlan, AClientToolWithASchemaWinsOverTheServerToolOfItsName) {
  testing::FakeToolbox toolbox;
  auto p = plan_ok({{"tools", ojson::array({client_tool("add")})}}, model_with({"add"}), &toolbox);
  EXPECT_TRUE(p.server_tools.empty());
}

TEST(UpstreamToolPlan, ToolChoiceNoneRunsNoServerToolButCompletesNameOnlyDeclarations) {
  testing::FakeToolbox toolbox;
  auto p = plan_ok({{"tool_choice", "none"}, {"tools", ojson::array({name_only("add")})}},
                   model_with({"add"}), &toolbox);
  EXPECT_TRUE(p.server_tools.empty());
  EXPECT_EQ(tool_names(p.tools), std::vector<std::string>{"add"});
  EXPECT_TRUE(plan_ok({{"tool_choice", "none"}}, model_with({"add"}), &toolbox).tools.is_null());
}

TEST(UpstreamToolPlan, NAboveOneIsRefusedWhenTheLoopRuns) {
  testing::FakeToolbox toolbox;
  auto p = plan_upstream_tools(request({{"n", 2}}), model_with({"add"}), &toolbox);
  ASSERT_TRUE(std::holds_alternative<ApiError>(p));
  EXPECT_EQ(std::get<ApiError>(p).status, 400);
  EXPECT_EQ(std::get<ApiError>(p).param, "n");
  // Without server tools, n goes to the upstream as sent.
  EXPECT_TRUE(std::holds_alternative<UpstreamToolPlan>(
      plan_upstream_tools(request({{"n", 2}}), model_with({}), &toolbox)));
}

TEST(UpstreamToolPlan, TheTokenBudgetComesFromTheRequestOrTheModel) {
  testing::FakeToolbox toolbox;
  auto p =
      plan_ok({{"max_tokens", 50}, {"max_completion_tokens", 40}}, model_with({"add"}), &toolbox);
  EXPECT_EQ(p.max_tokens, 40);
  EXPECT_EQ(p.max_tokens_key, "max_completion_tokens");
  ServedModel m = model_with({"add"});
  m.sampling.max_tokens = 77;
  EXPECT_EQ(plan_ok({}, m, &toolbox).max_tokens, 77);
}

TEST(UpstreamRoundBody, AsksWholeRoundsWithTheConversationAndTheRemoteName) {
  testing::FakeToolbox toolbox;
  ojson body = {{"model", "remote"},
                {"stream", true},
                {"stream_options", {{"include_usage", true}}},
                {"tool_choice", "required"},
                {"max_tokens", 100},
                {"vendor_extension", 1}};
  auto req = request(body);
  auto plan = std::get<UpstreamToolPlan>(plan_upstream_tools(req, model_with({"add"}), &toolbox));
  EXPECT_TRUE(plan.include_usage);
  EXPECT_TRUE(plan.forced_first_round);
  ojson messages = req.body["messages"];
  SamplingDefaults d;
  d.temperature = 0.25f;

  json first = json::parse(upstream_round_body(req, plan, messages, 1, 100, "their-name", d));
  EXPECT_EQ(first["model"], "their-name");
  EXPECT_EQ(first["stream"], false);
  EXPECT_FALSE(first.contains("stream_options"));
  EXPECT_EQ(first["tool_choice"], "required");
  EXPECT_EQ(first["tools"][0]["function"]["name"], "add");
  EXPECT_EQ(first["max_tokens"], 100);
  EXPECT_EQ(first["temperature"], 0.25);
  EXPECT_EQ(first["vendor_extension"], 1);  // what we do not know still reaches the upstream

  append_tool_round(messages, "", {ToolRun{"call_1", "add", R"({"a":1})", true, "1", 1}});
  json second = json::parse(upstream_round_body(req, plan, messages, 2, 60, "their-name", d));
  EXPECT_EQ(second["tool_choice"], "auto");  // forcing applies to the first round only
  EXPECT_EQ(second["max_tokens"], 60);       // what is left of the budget
  ASSERT_EQ(second["messages"].size(), 3u);
}

TEST(UpstreamRoundBody, AToolRoundIsAppendedInTheOpenAIWireShape) {
  ojson messages = ojson::array();
  append_tool_round(messages, "Let me add.",
                    {ToolRun{"call_1", "add", R"({"a":1,"b":2})", true, "3", 1},
                     ToolRun{"call_2", "fail", "{}", false, "error: boom", 1}});
  ASSERT_EQ(messages.size(), 3u);
  EXPECT_EQ(messages[0]["role"], "assistant");
  EXPECT_EQ(messages[0]["content"], "Let me add.");
  EXPECT_EQ(messages[0]["tool_calls"][0]["id"], "call_1");
  EXPECT_EQ(messages[0]["tool_calls"][0]["type"], "function");
  EXPECT_EQ(messages[0]["tool_calls"][0]["function"]["arguments"], R"({"a":1,"b":2})");
  EXPECT_EQ(messages[1], (ojson{{"role", "tool"}, {"tool_call_id", "call_1"}, {"content", "3"}}));
  EXPECT_EQ(messages[2]["content"], "error: boom");
  ojson empty = ojson::array();
  append_tool_round(empty, "", {ToolRun{"c", "add", "{}", true, "0", 1}});
  EXPECT_TRUE(empty[0]["content"].is_null());
}

TEST(UpstreamRound, ReadsContentCallsFinishAndUsage) {
  std::string error;
  auto r = parse_upstream_round(R"({"choices":[{"index":0,"message":{"role":"assistant",
      "content":null,"tool_calls":[{"id":"call_x","type":"function","function":{"name":"add",
      "arguments":"{\"a\":1}"}},{"type":"function","function":{"name":"f","arguments":{"k":2}}}]},
      "finish_reason":"tool_calls"}],"usage":{"prompt_tokens":11,"completion_tokens":7,
      "prompt_tokens_details":{"cached_tokens":4}}})",
                                &error);
  ASSERT_TRUE(r) << error;
  EXPECT_EQ(r->content, "");
  ASSERT_EQ(r->tool_calls.size(), 2u);
  EXPECT_EQ(r->tool_calls[0].id, "call_x");
  EXPECT_EQ(r->tool_calls[0].arguments, R"({"a":1})");
  EXPECT_EQ(r->tool_calls[1].id.rfind("call_", 0), 0u);  // made up when the upstream left it out
  EXPECT_EQ(json::parse(r->tool_calls[1].arguments)["k"], 2);  // an object becomes its text
  EXPECT_EQ(r->finish_reason, "tool_calls");
  EXPECT_EQ(r->usage.prompt_tokens, 11);
  EXPECT_EQ(r->usage.completion_tokens, 7);
  EXPECT_EQ(r->usage.cached_tokens, 4);
}

TEST(UpstreamRound, WhatIsNotAChatCompletionIsAnError) {
  std::string error;
  EXPECT_FALSE(parse_upstream_round("<html>", &error));
  EXPECT_FALSE(parse_upstream_round(R"({"choices":[]})", &error));
  EXPECT_FALSE(parse_upstream_round(R"({"choices":[{"message":{"tool_calls":[{}]}}]})", &error));
  EXPECT_NE(error.find("function name"), std::string::npos);
}

}  // namespace
}  // namespace toolgate::gateway
