// The request edge: every malformed field of a chat completion is a 400 naming the parameter.
#include <gtest/gtest.h>

#include "gateway/chat_request.h"

namespace toolgate::gateway {
namespace {

using nlohmann::json;

json minimal() {
  return {{"model", "m"}, {"messages", json::array({{{"role", "user"}, {"content", "hi"}}})}};
}

json with(json patch) {
  json body = minimal();
  body.merge_patch(patch);
  return body;
}

TEST(ChatRequestParser, MinimalRequestParses) {
  auto r = parse_chat_completion_request(minimal());
  ASSERT_TRUE(r.request) << r.errors[0].message;
  EXPECT_EQ(r.request->model, "m");
  ASSERT_EQ(r.request->messages.size(), 1u);
  EXPECT_EQ(r.request->messages[0].role, Role::User);
  EXPECT_EQ(*r.request->messages[0].content, "hi");
  EXPECT_EQ(r.request->n, 1);
  EXPECT_FALSE(r.request->stream);
}

TEST(ChatRequestParser, FullRequestParsesEveryField) {
  json body =
      with({{"max_tokens", 10},
            {"temperature", 0.5},
            {"top_p", 0.9},
            {"n", 3},
            {"stop", json::array({"a", "b"})},
            {"seed", 42},
            {"presence_penalty", -1.5},
            {"frequency_penalty", 2},
            {"logit_bias", {{"15", -100}, {"7", 3.5}}},
            {"logprobs", true},
            {"top_logprobs", 5},
            {"user", "u1"},
            {"response_format", {{"type", "json_object"}}},
            {"tools", json::array({{{"type", "function"},
                                    {"function",
                                     {{"name", "get_weather"},
                                      {"description", "d"},
                                      {"parameters", {{"type", "object"}}}}}}})},
            {"tool_choice", {{"type", "function"}, {"function", {{"name", "get_weather"}}}}},
            {"parallel_tool_calls", false},
            {"stream", true},
            {"stream_options", {{"include_usage", true}}},
            {"top_k", 40},
            {"min_p", 0.05},
            {"repetition_penalty", 1.1},
            {"some_future_field", {{"x", 1}}}});
  auto r = parse_chat_completion_request(body);
  ASSERT_TRUE(r.request) << r.errors[0].message;
  const auto& q = *r.request;
  EXPECT_EQ(*q.max_tokens, 10);
  EXPECT_FLOAT_EQ(*q.temperature, 0.5f);
  EXPECT_FLOAT_EQ(*q.top_p, 0.9f);
  EXPECT_EQ(q.n, 3);
  EXPECT_EQ(q.stop, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(*q.seed, 42u);
  EXPECT_FLOAT_EQ(*q.presence_penalty, -1.5f);
  EXPECT_FLOAT_EQ(*q.frequency_penalty, 2.0f);
  ASSERT_EQ(q.logit_bias.size(), 2u);
  EXPECT_TRUE(q.logprobs);
  EXPECT_EQ(q.top_logprobs, 5);
  EXPECT_EQ(*q.user, "u1");
  EXPECT_EQ(q.response_format, ResponseFormat::JsonObject);
  ASSERT_EQ(q.tools.size(), 1u);
  EXPECT_EQ(q.tools[0].name, "get_weather");
  EXPECT_FALSE(q.tools[0].name_only());
  EXPECT_EQ(q.tool_choice->mode, ToolChoice::Mode::Named);
  EXPECT_EQ(q.tool_choice->name, "get_weather");
  EXPECT_FALSE(q.parallel_tool_calls);
  EXPECT_TRUE(q.stream);
  EXPECT_TRUE(q.include_usage);
  EXPECT_EQ(*q.top_k, 40);
  EXPECT_FLOAT_EQ(*q.min_p, 0.05f);
  EXPECT_FLOAT_EQ(*q.repetition_penalty, 1.1f);
}

TEST(ChatRequestParser, MaxCompletionTokensWinsOverMaxTokens) {
  auto r = parse_chat_completion_request(with({{"max_tokens", 10}, {"max_completion_tokens", 20}}));
  ASSERT_TRUE(r.request);
  EXPECT_EQ(*r.request->max_tokens, 20);
}

TEST(ChatRequestParser, ContentPartsOfTypeTextAreJoined) {
  json body = minimal();
  body["messages"][0]["content"] =
      json::array({{{"type", "text"}, {"text", "Hello"}}, {{"type", "text"}, {"text", "world"}}});
  auto r = parse_chat_completion_request(body);
  ASSERT_TRUE(r.request);
  EXPECT_EQ(*r.request->messages[0].content, "Hello\nworld");
}

TEST(ChatRequestParser, AssistantToolCallsAndToolMessagesParse) {
  json body = minimal();
  body["messages"].push_back(
      {{"role", "assistant"},
       {"content", nullptr},
       {"tool_calls", json::array({{{"id", "call_1"},
                                    {"type", "function"},
                                    {"function", {{"name", "f"}, {"arguments", "{\"x\":1}"}}}}})}});
  body["messages"].push_back({{"role", "tool"}, {"tool_call_id", "call_1"}, {"content", "42"}});
  auto r = parse_chat_completion_request(body);
  ASSERT_TRUE(r.request) << r.errors[0].message;
  const auto& m = r.request->messages;
  ASSERT_EQ(m.size(), 3u);
  EXPECT_FALSE(m[1].content);
  ASSERT_EQ(m[1].tool_calls.size(), 1u);
  EXPECT_EQ(m[1].tool_calls[0].name, "f");
  EXPECT_EQ(m[2].tool_call_id, "call_1");
  json t = messages_to_template_json(m);
  EXPECT_EQ(t[1]["tool_calls"][0]["function"]["arguments"]["x"], 1);  // parsed for templates
  EXPECT_TRUE(t[1]["content"].is_null());
  EXPECT_EQ(t[2]["tool_call_id"], "call_1");
}

TEST(ChatRequestParser, NullOptionalFieldsCountAsAbsent) {
  auto r = parse_chat_completion_request(
      with({{"temperature", nullptr}, {"tools", nullptr}, {"stop", nullptr}, {"n", nullptr}}));
  ASSERT_TRUE(r.request);
  EXPECT_FALSE(r.request->temperature);
}

TEST(ChatRequestParser, IntegralFloatIsAcceptedAsInteger) {
  auto r = parse_chat_completion_request(with({{"max_tokens", 16.0}}));
  ASSERT_TRUE(r.request);
  EXPECT_EQ(*r.request->max_tokens, 16);
}

struct BadCase {
  const char* name;
  json body;
  std::string param;
};

class ChatRequestParserRejects : public ::testing::TestWithParam<BadCase> {};

TEST_P(ChatRequestParserRejects, NamesTheParameter) {
  const auto& c = GetParam();
  auto r = parse_chat_completion_request(c.body);
  ASSERT_FALSE(r.request) << c.name;
  ASSERT_FALSE(r.errors.empty());
  EXPECT_EQ(r.errors[0].param, c.param) << c.name << ": " << r.errors[0].message;
}

json msg_content(json content) {
  json b = minimal();
  b["messages"][0]["content"] = std::move(content);
  return b;
}

INSTANTIATE_TEST_SUITE_P(
    Table, ChatRequestParserRejects,
    ::testing::Values(
        BadCase{"missing model", json{{"messages", minimal()["messages"]}}, "model"},
        BadCase{"model not string", with({{"model", 5}}), "model"},
        BadCase{"missing messages", json{{"model", "m"}}, "messages"},
        BadCase{"messages not array", with({{"messages", "hi"}}), "messages"},
        BadCase{"messages empty", with({{"messages", json::array()}}), "messages"},
        BadCase{"message not object", with({{"messages", json::array({1})}}), "messages[0]"},
        BadCase{"missing role", with({{"messages", json::array({{{"content", "x"}}})}}),
                "messages[0].role"},
        BadCase{"unknown role",
                with({{"messages", json::array({{{"role", "robot"}, {"content", "x"}}})}}),
                "messages[0].role"},
        BadCase{"user without content", with({{"messages", json::array({{{"role", "user"}}})}}),
                "messages[0].content"},
        BadCase{"content number", msg_content(7), "messages[0].content"},
        BadCase{"image part",
                msg_content(json::array({{{"type", "image_url"}, {"image_url", {{"url", "x"}}}}})),
                "messages[0].content[0].type"},
        BadCase{"text part without text", msg_content(json::array({{{"type", "text"}}})),
                "messages[0].content[0].text"},
        BadCase{"tool without tool_call_id",
                with({{"messages", json::array({{{"role", "tool"}, {"content", "x"}}})}}),
                "messages[0].tool_call_id"},
        BadCase{"assistant tool_calls not array",
                with({{"messages", json::array({{{"role", "assistant"}, {"tool_calls", 3}}})}}),
                "messages[0].tool_calls"},
        BadCase{"max_tokens string", with({{"max_tokens", "10"}}), "max_tokens"},
        BadCase{"max_tokens zero", with({{"max_tokens", 0}}), "max_tokens"},
        BadCase{"max_tokens fraction", with({{"max_tokens", 1.5}}), "max_tokens"},
        BadCase{"max_completion_tokens negative", with({{"max_completion_tokens", -1}}),
                "max_completion_tokens"},
        BadCase{"temperature string", with({{"temperature", "hot"}}), "temperature"},
        BadCase{"temperature above 2", with({{"temperature", 2.5}}), "temperature"},
        BadCase{"temperature negative", with({{"temperature", -0.1}}), "temperature"},
        BadCase{"top_p zero", with({{"top_p", 0}}), "top_p"},
        BadCase{"top_p above 1", with({{"top_p", 1.01}}), "top_p"},
        BadCase{"n zero", with({{"n", 0}}), "n"}, BadCase{"n nine", with({{"n", 9}}), "n"},
        BadCase{"n bool", with({{"n", true}}), "n"},
        BadCase{"stop number", with({{"stop", 3}}), "stop"},
        BadCase{"stop five", with({{"stop", json::array({"a", "b", "c", "d", "e"})}}), "stop"},
        BadCase{"stop element number", with({{"stop", json::array({"a", 1})}}), "stop[1]"},
        BadCase{"seed string", with({{"seed", "x"}}), "seed"},
        BadCase{"presence_penalty high", with({{"presence_penalty", 2.5}}), "presence_penalty"},
        BadCase{"frequency_penalty low", with({{"frequency_penalty", -3}}), "frequency_penalty"},
        BadCase{"logit_bias array", with({{"logit_bias", json::array()}}), "logit_bias"},
        BadCase{"logit_bias bad key", with({{"logit_bias", {{"abc", 1}}}}), "logit_bias"},
        BadCase{"logit_bias out of range", with({{"logit_bias", {{"5", 101}}}}), "logit_bias.5"},
        BadCase{"logprobs string", with({{"logprobs", "yes"}}), "logprobs"},
        BadCase{"top_logprobs 21", with({{"logprobs", true}, {"top_logprobs", 21}}),
                "top_logprobs"},
        BadCase{"top_logprobs without logprobs", with({{"top_logprobs", 2}}), "top_logprobs"},
        BadCase{"user number", with({{"user", 1}}), "user"},
        BadCase{"response_format string", with({{"response_format", "json"}}), "response_format"},
        BadCase{"response_format json_schema",
                with({{"response_format", {{"type", "json_schema"}}}}),
                "response_format.json_schema"},
        BadCase{"json_schema name with a space",
                with({{"response_format",
                       {{"type", "json_schema"},
                        {"json_schema", {{"name", "my schema"}, {"schema", json::object()}}}}}}),
                "response_format.json_schema.name"},
        BadCase{"json_schema schema array",
                with({{"response_format",
                       {{"type", "json_schema"},
                        {"json_schema", {{"name", "s"}, {"schema", json::array()}}}}}}),
                "response_format.json_schema.schema"},
        BadCase{"response_format unknown", with({{"response_format", {{"type", "yaml"}}}}),
                "response_format.type"},
        BadCase{"tools object", with({{"tools", {{"a", 1}}}}), "tools"},
        BadCase{"tool type", with({{"tools", json::array({{{"type", "retrieval"}}})}}),
                "tools[0].type"},
        BadCase{"tool without function", with({{"tools", json::array({{{"type", "function"}}})}}),
                "tools[0].function"},
        BadCase{"tool bad name",
                with({{"tools", json::array({{{"type", "function"},
                                              {"function", {{"name", "has space"}}}}})}}),
                "tools[0].function.name"},
        BadCase{
            "tool parameters string",
            with({{"tools", json::array({{{"type", "function"},
                                          {"function", {{"name", "f"}, {"parameters", "x"}}}}})}}),
            "tools[0].function.parameters"},
        BadCase{"tool_choice unknown string", with({{"tool_choice", "always"}}), "tool_choice"},
        BadCase{"tool_choice number", with({{"tool_choice", 1}}), "tool_choice"},
        BadCase{"tool_choice names unknown tool",
                with({{"tool_choice", {{"type", "function"}, {"function", {{"name", "nope"}}}}}}),
                "tool_choice"},
        BadCase{"tool_choice required without tools", with({{"tool_choice", "required"}}),
                "tool_choice"},
        BadCase{"parallel_tool_calls string", with({{"parallel_tool_calls", "no"}}),
                "parallel_tool_calls"},
        BadCase{"stream string", with({{"stream", "true"}}), "stream"},
        BadCase{"stream_options without stream",
                with({{"stream_options", {{"include_usage", true}}}}), "stream_options"},
        BadCase{"include_usage string",
                with({{"stream", true}, {"stream_options", {{"include_usage", "y"}}}}),
                "stream_options.include_usage"},
        BadCase{"top_k negative", with({{"top_k", -1}}), "top_k"},
        BadCase{"min_p above 1", with({{"min_p", 1.5}}), "min_p"},
        BadCase{"repetition_penalty zero", with({{"repetition_penalty", 0}}),
                "repetition_penalty"}),
    [](const ::testing::TestParamInfo<BadCase>& info) {
      std::string n = info.param.name;
      for (auto& ch : n)
        if (!isalnum(static_cast<unsigned char>(ch))) ch = '_';
      return n;
    });

TEST(ChatRequestParser, CollectsEveryErrorNotJustTheFirst) {
  auto r = parse_chat_completion_request(with({{"temperature", 9}, {"n", 0}, {"top_p", "x"}}));
  ASSERT_FALSE(r.request);
  EXPECT_EQ(r.errors.size(), 3u);
}

TEST(ChatRequestParser, NonObjectBodyIsRejected) {
  auto r = parse_chat_completion_request(json::array());
  ASSERT_FALSE(r.request);
  EXPECT_NE(r.errors[0].message.find("JSON object"), std::string::npos);
}

TEST(ChatRequestParser, ToolSchemaKeepsTheClientsKeyOrder) {
  auto body = nlohmann::ordered_json::parse(
      R"({"model":"m","messages":[{"role":"user","content":"x"}],
          "tools":[{"type":"function","function":{"name":"f","parameters":
            {"type":"object","properties":{"zeta":{"type":"string"},"alpha":{"type":"integer"}},
             "required":["zeta"]}}}]})");
  auto r = parse_chat_completion_request(body);
  ASSERT_TRUE(r.request);
  EXPECT_EQ(
      tool_to_openai_json(r.request->tools[0])["function"]["parameters"].dump(),
      R"({"type":"object","properties":{"zeta":{"type":"string"},"alpha":{"type":"integer"}},"required":["zeta"]})");
}

TEST(ChatRequestParser, NameOnlyToolIsMarked) {
  auto r = parse_chat_completion_request(
      with({{"tools", json::array({{{"type", "function"}, {"function", {{"name", "add"}}}}})}}));
  ASSERT_TRUE(r.request);
  EXPECT_TRUE(r.request->tools[0].name_only());
}

}  // namespace
}  // namespace toolgate::gateway
