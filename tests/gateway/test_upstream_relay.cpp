// Upstream forwarding without sockets: base_url parsing, the forwarded body, `model` rewriting
// in JSON and SSE, and how upstream failures become OpenAI errors.
#include <gtest/gtest.h>

#include "gateway/upstream_relay.h"
#include "gateway/upstream_target.h"

namespace toolgate::gateway {
namespace {

using nlohmann::json;
using ojson = nlohmann::ordered_json;

UpstreamUrl parse_ok(std::string_view url) {
  std::string error;
  auto u = parse_upstream_url(url, &error);
  EXPECT_TRUE(u) << error;
  return u.value_or(UpstreamUrl{});
}

std::string parse_error(std::string_view url) {
  std::string error;
  EXPECT_FALSE(parse_upstream_url(url, &error)) << url;
  return error;
}

TEST(UpstreamUrl, HostPortAndPathPrefixComeFromTheBaseUrl) {
  UpstreamUrl u = parse_ok("http://127.0.0.1:8000/v1");
  EXPECT_EQ(u.scheme, "http");
  EXPECT_EQ(u.host, "127.0.0.1");
  EXPECT_EQ(u.port, 8000);
  EXPECT_EQ(u.path_prefix, "/v1");
  EXPECT_EQ(u.target("/chat/completions"), "/v1/chat/completions");
  EXPECT_EQ(u.host_header(), "127.0.0.1:8000");
}

TEST(UpstreamUrl, PortDefaultsBySchemeAndIsLeftOutOfTheHostHeader) {
  UpstreamUrl http = parse_ok("http://llm.internal/v1");
  EXPECT_EQ(http.port, 80);
  EXPECT_EQ(http.host_header(), "llm.internal");
  UpstreamUrl https = parse_ok("https://api.openai.com/v1");
  EXPECT_EQ(https.port, 443);
  EXPECT_EQ(https.host_header(), "api.openai.com");
}

TEST(UpstreamUrl, TrailingSlashesAndEmptyPathsNormalise) {
  EXPECT_EQ(parse_ok("http://h:1/v1/").path_prefix, "/v1");
  EXPECT_EQ(parse_ok("http://h:1/").path_prefix, "");
  EXPECT_EQ(parse_ok("http://h:1").path_prefix, "");
  EXPECT_EQ(parse_ok("http://h:1").target("/chat/completions"), "/chat/completions");
  EXPECT_EQ(parse_ok("http://h/openai/v1").target("/chat/completions"),
            "/openai/v1/chat/completions");
}

TEST(UpstreamUrl, Ipv6LiteralKeepsItsBracketsOnlyInTheHostHeader) {
  UpstreamUrl u = parse_ok("http://[::1]:11434/v1");
  EXPECT_EQ(u.host, "::1");
  EXPECT_EQ(u.port, 11434);
  EXPECT_EQ(u.host_header(), "[::1]:11434");
}

TEST(UpstreamUrl, MalformedUrlsAreRefusedWithAReason) {
  EXPECT_NE(parse_error("ftp://h/v1").find("http:// or https://"), std::string::npos);
  EXPECT_NE(parse_error("http://h:0/v1").find("bad port"), std::string::npos);
  EXPECT_NE(parse_error("http://h:70000").find("bad port"), std::string::npos);
  EXPECT_NE(parse_error("http://h:80x").find("bad port"), std::string::npos);
  EXPECT_NE(parse_error("http://h:/v1").find("empty port"), std::string::npos);
  EXPECT_NE(parse_error("http:///v1").find("no host"), std::string::npos);
  EXPECT_NE(parse_error("http://u:p@h/v1").find("user info"), std::string::npos);
  EXPECT_NE(parse_error("http://h/v1?x=1").find("query"), std::string::npos);
  EXPECT_NE(parse_error("http://[::1/v1").find("unclosed"), std::string::npos);
}

TEST(UpstreamChatRequestParse, NeedsAnObjectAndABooleanStream) {
  EXPECT_TRUE(std::holds_alternative<ApiError>(parse_upstream_chat_request(ojson::array())));
  auto bad = parse_upstream_chat_request(ojson{{"model", "m"}, {"stream", "yes"}});
  ASSERT_TRUE(std::holds_alternative<ApiError>(bad));
  EXPECT_EQ(std::get<ApiError>(bad).status, 400);
  EXPECT_EQ(std::get<ApiError>(bad).param, "stream");
  auto ok = parse_upstream_chat_request(ojson{{"model", "m"}, {"stream", true}});
  ASSERT_TRUE(std::holds_alternative<UpstreamChatRequest>(ok));
  EXPECT_TRUE(std::get<UpstreamChatRequest>(ok).stream);
}

TEST(UpstreamRequestBody, ReplacesTheModelAndKeepsEverythingElseAsSent) {
  UpstreamChatRequest r;
  r.body = ojson::parse(
      R"({"model":"public","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"x"}}]}],"vendor_field":1})");
  json sent = json::parse(upstream_request_body(r, "remote-name", {}));
  EXPECT_EQ(sent["model"], "remote-name");
  EXPECT_EQ(sent["messages"][0]["content"][0]["type"], "image_url");
  EXPECT_EQ(sent["vendor_field"], 1);
  EXPECT_FALSE(sent.contains("temperature"));
}

TEST(UpstreamRequestBody, SamplingDefaultsFillOnlyWhatTheRequestLeavesOut) {
  UpstreamChatRequest r;
  r.body = ojson{{"model", "m"}, {"temperature", 0}, {"max_completion_tokens", 5}};
  SamplingDefaults d;
  d.temperature = 0.7f;
  d.top_p = 0.5f;
  d.max_tokens = 100;
  json sent = json::parse(upstream_request_body(r, "m", d));
  EXPECT_EQ(sent["temperature"], 0);
  EXPECT_FLOAT_EQ(sent["top_p"].get<float>(), 0.5f);
  EXPECT_FALSE(sent.contains("max_tokens"));  // max_completion_tokens was given
}

TEST(ModelRewrite, JsonObjectGetsThePublicIdAndKeepsKeyOrder) {
  std::string out = rewrite_model_in_json(R"({"id":"c1","model":"remote","object":"x"})", "pub");
  EXPECT_EQ(out, R"({"id":"c1","model":"pub","object":"x"})");
}

TEST(ModelRewrite, AnythingElsePassesUnchanged) {
  EXPECT_EQ(rewrite_model_in_json("not json", "pub"), "not json");
  EXPECT_EQ(rewrite_model_in_json(R"({"id":"c1"})", "pub"), R"({"id":"c1"})");
  EXPECT_EQ(rewrite_model_in_json("[1,2]", "pub"), "[1,2]");
}

TEST(SseEventSplitter, EventsSplitAcrossArbitraryPieces) {
  SseEventSplitter s;
  std::string stream = "data: {\"a\":1}\n\ndata: {\"a\":2}\r\n\r\n: comment\n\ndata: [DONE]\n\n";
  std::vector<std::string> events;
  for (char c : stream) {
    for (auto& e : s.feed(std::string_view(&c, 1))) events.push_back(e);
  }
  ASSERT_EQ(events.size(), 4u);
  EXPECT_EQ(events[0], "data: {\"a\":1}");
  EXPECT_EQ(events[1], "data: {\"a\":2}");
  EXPECT_EQ(events[2], ": comment");
  EXPECT_EQ(events[3], "data: [DONE]");
  EXPECT_EQ(s.take_rest(), "");
}

TEST(SseEventSplitter, AnUnterminatedLastEventIsKeptForTheEnd) {
  SseEventSplitter s;
  EXPECT_EQ(s.feed("data: {\"a\":1}\n\ndata: [DONE]\n").size(), 1u);
  EXPECT_EQ(s.take_rest(), "data: [DONE]");
}

TEST(RelaySseEvent, ChunkModelIsRewrittenAndUsageNoted) {
  RelayedSseEvent r = relay_sse_event(
      R"(data: {"id":"c","model":"remote","choices":[],"usage":{"prompt_tokens":3,"completion_tokens":4}})",
      "pub");
  EXPECT_FALSE(r.done);
  ASSERT_TRUE(r.usage);
  EXPECT_EQ((*r.usage)["completion_tokens"], 4);
  EXPECT_EQ(r.text.substr(r.text.size() - 2), "\n\n");
  json chunk = json::parse(r.text.substr(6));
  EXPECT_EQ(chunk["model"], "pub");
}

TEST(RelaySseEvent, DoneAndNonJsonLinesPassThrough) {
  RelayedSseEvent done = relay_sse_event("data:[DONE]", "pub");
  EXPECT_TRUE(done.done);
  EXPECT_EQ(done.text, "data: [DONE]\n\n");
  RelayedSseEvent other = relay_sse_event("event: ping\ndata: hello", "pub");
  EXPECT_EQ(other.text, "event: ping\ndata: hello\n\n");
  RelayedSseEvent err = relay_sse_event(R"(data: {"error":{"message":"x"}})", "pub");
  EXPECT_TRUE(err.has_error);
}

TEST(UpstreamErrors, OpenAiErrorObjectIsRelayedWithItsStatus) {
  std::string body =
      R"({"error":{"message":"Incorrect API key provided.","type":"invalid_request_error","param":null,"code":"invalid_api_key"}})";
  HttpResponse r = relay_upstream_error(401, body, "http://b/v1");
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(json::parse(r.body), json::parse(body));
}

TEST(UpstreamErrors, OtherBodiesBecomeUpstreamErrorsNamingTheUpstream) {
  HttpResponse html = relay_upstream_error(500, "<html>oops</html>", "http://b:1/v1");
  EXPECT_EQ(html.status, 500);
  json e = json::parse(html.body)["error"];
  EXPECT_EQ(e["type"], "upstream_error");
  EXPECT_NE(e["message"].get<std::string>().find("http://b:1/v1"), std::string::npos);
  EXPECT_NE(e["message"].get<std::string>().find("oops"), std::string::npos);

  HttpResponse ollama = relay_upstream_error(404, R"({"error":"model not found"})", "u");
  EXPECT_EQ(ollama.status, 404);
  EXPECT_EQ(json::parse(ollama.body)["error"]["message"], "model not found");
}

TEST(UpstreamErrors, UnreachableIs502AndTimeoutIs504InOpenAiShape) {
  ApiError down = upstream_unreachable("http://127.0.0.1:9/v1", "Connection refused");
  EXPECT_EQ(down.status, 502);
  EXPECT_EQ(down.type, "upstream_error");
  EXPECT_NE(down.message.find("http://127.0.0.1:9/v1"), std::string::npos);
  json j = json::parse(down.to_json());
  EXPECT_TRUE(j["error"].contains("param"));
  EXPECT_TRUE(j["error"].contains("code"));

  ApiError slow = upstream_timeout("http://h/v1", std::chrono::milliseconds(1500));
  EXPECT_EQ(slow.status, 504);
  EXPECT_EQ(slow.type, "upstream_error");
  EXPECT_NE(slow.message.find("1500 ms"), std::string::npos);
}

}  // namespace
}  // namespace toolgate::gateway
