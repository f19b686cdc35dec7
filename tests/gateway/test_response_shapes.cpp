// Response bodies, SSE framing and error objects in exactly the shapes the OpenAI SDKs read.
#include <gtest/gtest.h>

#include "gateway/api_error.h"
#include "gateway/chat_response.h"
#include "gateway/http_message.h"
#include "gateway/sse.h"

namespace toolgate::gateway {
namespace {

using nlohmann::json;

TEST(ChatResponse, CompletionHasOpenAiShape) {
  ChoiceResult c;
  c.content = "Paris.";
  c.finish_reason = "stop";
  json j = completion_json("chatcmpl-x", 123, "m", {c}, Usage{10, 2, 4});
  EXPECT_EQ(j["id"], "chatcmpl-x");
  EXPECT_EQ(j["object"], "chat.completion");
  EXPECT_EQ(j["created"], 123);
  EXPECT_EQ(j["model"], "m");
  EXPECT_TRUE(j["system_fingerprint"].is_string());
  const json& ch = j["choices"][0];
  EXPECT_EQ(ch["index"], 0);
  EXPECT_EQ(ch["message"]["role"], "assistant");
  EXPECT_EQ(ch["message"]["content"], "Paris.");
  EXPECT_TRUE(ch["message"]["refusal"].is_null());
  EXPECT_FALSE(ch["message"].contains("tool_calls"));
  EXPECT_TRUE(ch["logprobs"].is_null());
  EXPECT_EQ(ch["finish_reason"], "stop");
  EXPECT_EQ(j["usage"]["prompt_tokens"], 10);
  EXPECT_EQ(j["usage"]["completion_tokens"], 2);
  EXPECT_EQ(j["usage"]["total_tokens"], 12);
  EXPECT_EQ(j["usage"]["prompt_tokens_details"]["cached_tokens"], 4);
}

TEST(ChatResponse, ToolCallsMakeContentNullWhenEmpty) {
  ChoiceResult c;
  c.tool_calls.push_back({"call_1", "f", "{\"a\":1}"});
  c.finish_reason = "tool_calls";
  json j = completion_json("id", 1, "m", {c}, {});
  const json& msg = j["choices"][0]["message"];
  EXPECT_TRUE(msg["content"].is_null());
  EXPECT_EQ(msg["tool_calls"][0]["id"], "call_1");
  EXPECT_EQ(msg["tool_calls"][0]["type"], "function");
  EXPECT_EQ(msg["tool_calls"][0]["function"]["name"], "f");
  EXPECT_EQ(msg["tool_calls"][0]["function"]["arguments"], "{\"a\":1}");
}

TEST(ChatResponse, LogprobsCarryBytesAndReplaceBrokenUtf8) {
  TokenLogprobEntry e{"\xE2\x82", -0.25f, {{"\xE2\x82", -0.25f}, {"a", -2.0f}}};
  json j = logprob_entry_json(e);
  EXPECT_EQ(j["bytes"], json::array({0xE2, 0x82}));
  std::string wire = dump_json(j);  // must not throw on the half character
  EXPECT_NE(wire.find("\xEF\xBF\xBD"), std::string::npos);
  EXPECT_EQ(j["top_logprobs"].size(), 2u);
}

TEST(ChatResponse, IdsHaveOpenAiPrefixes) {
  EXPECT_EQ(make_completion_id().rfind("chatcmpl-", 0), 0u);
  EXPECT_EQ(make_tool_call_id().rfind("call_", 0), 0u);
  EXPECT_NE(make_tool_call_id(), make_tool_call_id());
}

TEST(ChunkBuilder, FirstChunkCarriesRoleAndEmptyContent) {
  ChunkBuilder b("chatcmpl-x", 5, "m", false);
  json j = b.role_chunk(0);
  EXPECT_EQ(j["object"], "chat.completion.chunk");
  EXPECT_EQ(j["choices"][0]["delta"]["role"], "assistant");
  EXPECT_EQ(j["choices"][0]["delta"]["content"], "");
  EXPECT_TRUE(j["choices"][0]["finish_reason"].is_null());
  EXPECT_FALSE(j.contains("usage"));
}

TEST(ChunkBuilder, IncludeUsageAddsNullUsageToEveryChunkAndAFinalUsageChunk) {
  ChunkBuilder b("id", 5, "m", true);
  EXPECT_TRUE(b.content_chunk(0, "x", nullptr)["usage"].is_null());
  json u = b.usage_chunk(Usage{3, 4, 0});
  EXPECT_TRUE(u["choices"].is_array());
  EXPECT_TRUE(u["choices"].empty());
  EXPECT_EQ(u["usage"]["total_tokens"], 7);
}

TEST(ChunkBuilder, ToolCallDeltaFirstHasIdTypeNameThenArgumentsOnly) {
  ChunkBuilder b("id", 5, "m", false);
  json first = b.tool_calls_chunk(0, {{0, std::string("call_1"), std::string("f"), ""}});
  json d = first["choices"][0]["delta"]["tool_calls"][0];
  EXPECT_EQ(d["index"], 0);
  EXPECT_EQ(d["id"], "call_1");
  EXPECT_EQ(d["type"], "function");
  EXPECT_EQ(d["function"]["name"], "f");
  EXPECT_EQ(d["function"]["arguments"], "");
  json next = b.tool_calls_chunk(0, {{0, std::nullopt, std::nullopt, "{\"a\""}});
  json n = next["choices"][0]["delta"]["tool_calls"][0];
  EXPECT_FALSE(n.contains("id"));
  EXPECT_FALSE(n.contains("type"));
  EXPECT_FALSE(n["function"].contains("name"));
  EXPECT_EQ(n["function"]["arguments"], "{\"a\"");
}

TEST(ChunkBuilder, FinishChunkHasEmptyDelta) {
  ChunkBuilder b("id", 5, "m", false);
  json j = b.finish_chunk(1, "length");
  EXPECT_EQ(j["choices"][0]["index"], 1);
  EXPECT_TRUE(j["choices"][0]["delta"].empty());
  EXPECT_EQ(j["choices"][0]["finish_reason"], "length");
}

TEST(Sse, EventIsOneDataLineAndABlankLine) {
  std::string e = sse_event(json{{"content", "a\nb"}});
  EXPECT_EQ(e.rfind("data: {", 0), 0u);
  EXPECT_EQ(e.substr(e.size() - 2), "\n\n");
  EXPECT_EQ(e.find('\n'), e.size() - 2);  // newlines inside JSON strings are escaped
  EXPECT_EQ(sse_done(), "data: [DONE]\n\n");
}

TEST(ApiError, HasOpenAiErrorShape) {
  ApiError e = ApiError::invalid_request("bad", "temperature");
  json j = json::parse(e.to_json());
  EXPECT_EQ(j["error"]["message"], "bad");
  EXPECT_EQ(j["error"]["type"], "invalid_request_error");
  EXPECT_EQ(j["error"]["param"], "temperature");
  EXPECT_TRUE(j["error"]["code"].is_null());
  EXPECT_EQ(e.to_response().status, 400);
}

TEST(ApiError, StatusesAndCodes) {
  EXPECT_EQ(ApiError::invalid_api_key(false).status, 401);
  EXPECT_EQ(ApiError::invalid_api_key(true).code, "invalid_api_key");
  EXPECT_EQ(ApiError::model_not_found("x").status, 404);
  EXPECT_EQ(ApiError::model_not_found("x").code, "model_not_found");
  EXPECT_EQ(ApiError::method_not_allowed("GET", "/v1/chat/completions").status, 405);
  EXPECT_EQ(ApiError::body_too_large(10).status, 413);
  EXPECT_EQ(ApiError::context_length_exceeded("too long").code, "context_length_exceeded");
  HttpResponse r = ApiError::overloaded(3).to_response();
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(find_header(r.headers, "retry-after"), "3");
  EXPECT_EQ(ApiError::unavailable("x", 1).to_response().status, 503);
}

TEST(HttpMessage, SerializesResponseWithLengthAndConnection) {
  HttpResponse r = json_response(200, "{}");
  std::string s = serialize_response(r, true);
  EXPECT_EQ(s.rfind("HTTP/1.1 200 OK\r\n", 0), 0u);
  EXPECT_NE(s.find("Content-Length: 2\r\n"), std::string::npos);
  EXPECT_NE(s.find("Connection: keep-alive\r\n\r\n{}"), std::string::npos);
  EXPECT_NE(serialize_response(r, false).find("Connection: close"), std::string::npos);
}

TEST(HttpMessage, ChunkFramingIsHexLengthCrlf) {
  EXPECT_EQ(chunk_frame("hello world, this!"), "12\r\nhello world, this!\r\n");
  EXPECT_EQ(chunk_frame(""), "");
  EXPECT_EQ(last_chunk_frame(), "0\r\n\r\n");
  HttpResponse head;
  head.headers = {{"Content-Type", "text/event-stream"}};
  std::string h = serialize_stream_head(head, true);
  EXPECT_NE(h.find("Transfer-Encoding: chunked\r\n"), std::string::npos);
  EXPECT_EQ(h.find("Content-Length"), std::string::npos);
}

TEST(HttpMessage, HeaderValuesWithNewlinesAreDropped) {
  HttpResponse r;
  r.headers = {{"X-Evil", "a\r\nSet-Cookie: x"}};
  EXPECT_EQ(serialize_response(r, true).find("Set-Cookie"), std::string::npos);
}

TEST(HttpMessage, PathStripsQuery) {
  HttpRequest req;
  req.target = "/v1/models?limit=3";
  EXPECT_EQ(req.path(), "/v1/models");
}

}  // namespace
}  // namespace toolgate::gateway
