// The translators that turn the chat job's stream into other APIs' shapes, fed a scripted
// chat.completion.chunk stream as the job writes it.
#include <gtest/gtest.h>

#include <sstream>

#include "gateway/completions_output.h"
#include "gateway/ollama_output.h"
#include "gateway/sse.h"
#include "tests/gateway/recording_sink.h"

namespace toolgate::gateway {
namespace {

using nlohmann::json;
using testing::RecordingSink;

json chunk(json choices, json usage = nullptr) {
  json j = {{"id", "chatcmpl-abc"}, {"object", "chat.completion.chunk"}, {"created", 7},
            {"model", "m"}, {"choices", std::move(choices)}};
  if (!usage.is_null()) j["usage"] = std::move(usage);
  return j;
}
json delta(int index, json d, json finish = nullptr, json logprobs = nullptr) {
  return json::array({{{"index", index}, {"delta", std::move(d)}, {"logprobs", logprobs},
                       {"finish_reason", finish}}});
}
json lp_entry(const std::string& tok, double lp) {
  return {{"token", tok}, {"logprob", lp}, {"bytes", json::array()},
          {"top_logprobs", json::array({{{"token", tok}, {"logprob", lp}}, {{"token", "zz"}, {"logprob", -9.0}}})}};
}

// What the job writes for one choice saying "Hello world" with a tool call and usage.
void play(ResponseSink& s, bool with_call) {
  HttpResponse head;
  head.status = 200;
  head.headers = {{"Content-Type", "text/event-stream"}};
  s.begin_stream(head);
  s.stream_data(sse_event(chunk(delta(0, {{"role", "assistant"}, {"content", ""}}))));
  s.stream_data(sse_event(chunk(delta(0, {{"content", "Hello"}}, nullptr,
                                      {{"content", json::array({lp_entry("Hello", -0.5)})}}))) +
                sse_event(chunk(delta(0, {{"content", " world"}}, nullptr,
                                      {{"content", json::array({lp_entry(" world", -1.0)})}}))));
  if (with_call) {
    s.stream_data(sse_event(chunk(delta(
        0, {{"tool_calls", json::array({{{"index", 0}, {"id", "call_1"}, {"type", "function"},
                                         {"function", {{"name", "get"}, {"arguments", "{\"a\":"}}}}})}}))));
    s.stream_data(sse_event(chunk(
        delta(0, {{"tool_calls", json::array({{{"index", 0}, {"function", {{"arguments", "1}"}}}}})}}))));
  }
  s.stream_data(sse_event(chunk(delta(0, json::object(), with_call ? "tool_calls" : "length"))));
  s.stream_data(sse_event(chunk(json::array(), {{"prompt_tokens", 5}, {"completion_tokens", 2},
                                                {"prompt_tokens_details", {{"cached_tokens", 3}}}})) +
                std::string(sse_done()));
  s.end_stream();
}

std::vector<json> ndjson_lines(const std::string& s) {
  std::vector<json> out;
  std::istringstream in(s);
  std::string line;
  while (std::getline(in, line))
    if (!line.empty()) out.push_back(json::parse(line));
  return out;
}

TEST(OllamaOutput, StreamsOneLinePerPieceThenTheCallThenTheFinalLine) {
  auto rec = std::make_shared<RecordingSink>();
  auto sink = make_ollama_sink(rec, {"qwen:latest", true, false});
  play(*sink, true);
  ASSERT_TRUE(rec->ended);
  EXPECT_EQ(find_header(rec->stream_head->headers, "Content-Type"), "application/x-ndjson");
  auto lines = ndjson_lines(rec->stream);
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[0]["message"]["content"], "Hello");
  EXPECT_EQ(lines[0]["model"], "qwen:latest");
  EXPECT_EQ(lines[0]["done"], false);
  EXPECT_EQ(lines[2]["message"]["tool_calls"][0]["function"]["name"], "get");
  EXPECT_EQ(lines[2]["message"]["tool_calls"][0]["function"]["arguments"], json({{"a", 1}}));
  const json& last = lines[3];
  EXPECT_EQ(last["done"], true);
  EXPECT_EQ(last["done_reason"], "stop");
  EXPECT_EQ(last["prompt_eval_count"], 5);
  EXPECT_EQ(last["eval_count"], 2);
  EXPECT_GE(last["total_duration"].get<int64_t>(),
            last["prompt_eval_duration"].get<int64_t>() + last["eval_duration"].get<int64_t>());
}

TEST(OllamaOutput, NotStreamedIsOneObjectWithTheWholeText) {
  auto rec = std::make_shared<RecordingSink>();
  auto sink = make_ollama_sink(rec, {"qwen", false, true});
  play(*sink, false);
  ASSERT_EQ(rec->response->status, 200);
  json j = json::parse(rec->response->body);
  EXPECT_EQ(j["response"], "Hello world");
  EXPECT_EQ(j["done_reason"], "length");
  EXPECT_TRUE(rec->stream.empty());
}

TEST(OllamaOutput, ErrorsHaveOllamasShapeAndStatus) {
  auto rec = std::make_shared<RecordingSink>();
  auto sink = make_ollama_sink(rec, {"qwen", true, false});
  sink->send_response(json_response(400, R"({"error":{"message":"bad temperature","type":"invalid_request_error"}})"));
  EXPECT_EQ(rec->response->status, 400);
  EXPECT_EQ(json::parse(rec->response->body), json({{"error", "bad temperature"}}));
}

TEST(OllamaOutput, ATimeoutDuringANonStreamedAnswerIsA504) {
  auto rec = std::make_shared<RecordingSink>();
  auto sink = make_ollama_sink(rec, {"qwen", false, false});
  HttpResponse head;
  sink->begin_stream(head);
  sink->stream_data(sse_event(chunk(delta(0, {{"content", "Hel"}}))));
  sink->stream_data(sse_event(json{{"error", {{"message", "too slow"}, {"code", "request_timeout"}}}}) +
                    std::string(sse_done()));
  sink->end_stream();
  ASSERT_TRUE(rec->response);
  EXPECT_EQ(rec->response->status, 504);
  EXPECT_EQ(json::parse(rec->response->body), json({{"error", "too slow"}}));
}

TEST(TextCompletionOutput, WholeResponseHasLegacyLogprobsAndEcho) {
  auto rec = std::make_shared<RecordingSink>();
  TextCompletionOptions o;
  o.model = "m";
  o.logprobs = true;
  o.echo = {"Say: "};
  auto sink = make_text_completion_sink(rec, o);
  play(*sink, false);
  json j = json::parse(rec->response->body);
  EXPECT_EQ(j["object"], "text_completion");
  EXPECT_EQ(j["id"], "cmpl-abc");
  EXPECT_EQ(j["choices"][0]["text"], "Say: Hello world");
  EXPECT_EQ(j["choices"][0]["finish_reason"], "length");
  const json& lp = j["choices"][0]["logprobs"];
  EXPECT_EQ(lp["tokens"], json({"Hello", " world"}));
  EXPECT_EQ(lp["token_logprobs"], json({-0.5, -1.0}));
  EXPECT_EQ(lp["text_offset"], json({5, 10}));  // after the echoed prompt
  EXPECT_EQ(lp["top_logprobs"][1], json({{" world", -1.0}, {"zz", -9.0}}));
  EXPECT_EQ(j["usage"]["prompt_tokens_details"]["cached_tokens"], 3);
}

TEST(TextCompletionOutput, StreamEndsWithUsageAndDone) {
  auto rec = std::make_shared<RecordingSink>();
  TextCompletionOptions o;
  o.model = "m";
  o.stream = true;
  o.include_usage = true;
  auto sink = make_text_completion_sink(rec, o);
  play(*sink, false);
  auto events = rec->events();
  ASSERT_EQ(events.size(), 5u);
  EXPECT_EQ(events[0]["choices"][0]["text"], "Hello");
  EXPECT_EQ(events[2]["choices"][0]["finish_reason"], "length");
  EXPECT_EQ(events[3]["usage"]["completion_tokens"], 2);
  EXPECT_EQ(events[4], "[DONE]");
}

TEST(InfillOutput, FinalEventCarriesStopAndTimings) {
  auto rec = std::make_shared<RecordingSink>();
  auto sink = make_infill_sink(rec, {"m", true, 0});
  play(*sink, false);
  auto events = rec->events();
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0]["content"], "Hello");
  EXPECT_EQ(events[2]["stop"], true);
  EXPECT_EQ(events[2]["stop_type"], "limit");
  EXPECT_EQ(events[2]["timings"]["prompt_n"], 2);  // 5 prompt tokens, 3 cached
  EXPECT_EQ(events[2]["tokens_cached"], 3);
}

}  // namespace
}  // namespace toolgate::gateway
