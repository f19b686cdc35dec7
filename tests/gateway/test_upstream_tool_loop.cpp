// The server-tool loop around an upstream model, against a scripted upstream on loopback: the
// rounds the gateway asks, the tools it runs, and what the client gets (one chat.completion or
// a stream synthesized from the rounds), including errors and a client that goes away.
#include <gtest/gtest.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <future>

#include "fakes.h"
#include "gateway/metrics.h"
#include "gateway/model_catalog.h"
#include "gateway/upstream_chat_job.h"
#include "gateway/upstream_pool.h"
#include "gateway/upstream_target.h"
#include "recording_sink.h"
#include "scripted_upstream.h"

namespace toolgate::gateway {
namespace {

namespace net = boost::asio;
using nlohmann::json;
using ojson = nlohmann::ordered_json;
using tcp = net::ip::tcp;
using testing::RecordingSink;
using testing::ScriptedUpstream;
using namespace std::chrono_literals;

// An upstream chat.completion with `content` (null when empty) and `calls` as tool_calls.
std::string completion(const std::string& content, json calls = json::array(),
                       std::string finish = "", int prompt = 10, int generated = 5) {
  json msg = {{"role", "assistant"}, {"content", content.empty() ? json(nullptr) : json(content)}};
  if (!calls.empty()) msg["tool_calls"] = calls;
  if (finish.empty()) finish = calls.empty() ? "stop" : "tool_calls";
  json j = {{"id", "chatcmpl-up"},
            {"object", "chat.completion"},
            {"model", "their-name"},
            {"choices", json::array({{{"index", 0}, {"message", msg}, {"finish_reason", finish}}})},
            {"usage", {{"prompt_tokens", prompt}, {"completion_tokens", generated}}}};
  return j.dump();
}

json call(const std::string& id, const std::string& name, const std::string& arguments) {
  return {
      {"id", id}, {"type", "function"}, {"function", {{"name", name}, {"arguments", arguments}}}};
}

void answer(tcp::socket& s, const std::string& body, int status = 200) {
  testing::send_text(s, testing::http_response(status, "application/json", body));
}

// A toolbox whose "slow" tool waits until released (for a client leaving while it runs).
struct GatedToolbox : testing::FakeToolbox {
  bool has(const std::string& name) const override {
    return name == "slow" || FakeToolbox::has(name);
  }
  ServerToolOutcome invoke(const std::string& name, const json& arguments,
                           std::chrono::milliseconds timeout) const override {
    if (name != "slow") return FakeToolbox::invoke(name, arguments, timeout);
    started.set_value();
    release.wait();
    return {true, "slept", ""};
  }
  mutable std::promise<void> started;
  std::shared_future<void> release;
};

struct UpstreamToolLoopFixture : ::testing::Test {
  Metrics metrics;
  GatedToolbox toolbox;
  std::shared_ptr<ModelCatalog> catalog;
  std::promise<JobSummary> done;
  int max_tool_rounds = 2;

  // The session's strand and a worker, each on its own thread; joined first on teardown.
  net::io_context io;
  net::io_context workers;
  net::executor_work_guard<net::io_context::executor_type> io_guard{io.get_executor()};
  net::executor_work_guard<net::io_context::executor_type> workers_guard{workers.get_executor()};
  net::strand<net::io_context::executor_type> strand{io.get_executor()};
  std::thread io_thread{[this] { io.run(); }};
  std::thread worker_thread{[this] { workers.run(); }};

  ~UpstreamToolLoopFixture() override {
    io_guard.reset();
    workers_guard.reset();
    io.stop();
    workers.stop();
    io_thread.join();
    worker_thread.join();
  }

  void serve(uint16_t port, std::vector<std::string> server_tools) {
    auto target = std::make_shared<UpstreamTarget>();
    target->base_url = "http://127.0.0.1:" + std::to_string(port) + "/v1";
    target->url = *parse_upstream_url(target->base_url, nullptr);
    target->remote_model = "their-name";
    target->timeout = 2s;
    target->retries = 0;
    ServedModel m;
    m.id = "remote";
    m.owned_by = "upstream";
    m.upstream = target;
    m.server_tools = std::move(server_tools);
    catalog = std::make_shared<ModelCatalog>(std::vector<ServedModel>{m});
  }

  // A pool of members on `ports` (member 0 is asked first), one retry per round.
  void serve_pool(std::vector<uint16_t> ports, std::vector<std::string> server_tools) {
    std::vector<UpstreamPoolMemberSpec> members;
    for (uint16_t port : ports) {
      serve(port, server_tools);
      members.push_back({catalog->models()[0].upstream, 1, 0});
    }
    UpstreamPoolOptions o;
    o.max_retries = 1;
    ServedModel m = catalog->models()[0];
    m.upstream = members.front().target;
    m.upstream_pool = std::make_shared<UpstreamPool>("remote", o, std::move(members));
    catalog = std::make_shared<ModelCatalog>(std::vector<ServedModel>{m});
  }

  std::shared_ptr<ChatCompletionJob> run(ojson body, std::shared_ptr<RecordingSink> sink) {
    body["model"] = "remote";
    if (!body.contains("messages"))
      body["messages"] = ojson::array({{{"role", "user"}, {"content", "What is 2 + 3?"}}});
    auto parsed = parse_upstream_chat_request(std::move(body));
    JobEnvironment env;
    env.post = [this](std::function<void()> f) { net::post(strand, std::move(f)); };
    env.post_blocking = [this](std::function<void()> f) { net::post(workers, std::move(f)); };
    env.toolbox = &toolbox;
    env.metrics = &metrics;
    env.max_tool_rounds = max_tool_rounds;
    auto job = make_upstream_chat_job(
        std::get<UpstreamChatRequest>(std::move(parsed)), catalog, &catalog->models()[0], env, sink,
        [this](const JobSummary& s) { done.set_value(s); }, std::chrono::steady_clock::now(),
        strand);
    net::post(strand, [job] { job->start(); });
    return job;
  }

  JobSummary summary() {
    auto f = done.get_future();
    EXPECT_EQ(f.wait_for(5s), std::future_status::ready);
    return f.get();
  }

  static json body_of(const std::string& request) {
    return json::parse(ScriptedUpstream::body_of(request));
  }
};

TEST_F(UpstreamToolLoopFixture, OneServerRoundThenTheAnswer) {
  ScriptedUpstream up([](int n, tcp::socket& s, const std::string&) {
    if (n == 0)
      answer(s,
             completion("", json::array({call("call_up1", "add", R"({"a":2,"b":3})")}), "", 10, 5));
    else
      answer(s, completion("The sum is 5.", json::array(), "", 30, 7));
  });
  serve(up.port(), {"add"});
  auto sink = std::make_shared<RecordingSink>();
  run({}, sink);
  ASSERT_TRUE(sink->wait_end());
  ASSERT_TRUE(sink->response);
  EXPECT_EQ(sink->response->status, 200);
  json j = json::parse(sink->response->body);
  EXPECT_EQ(j["object"], "chat.completion");
  EXPECT_EQ(j["model"], "remote");
  const json& msg = j["choices"][0]["message"];
  EXPECT_EQ(msg["content"], "The sum is 5.");
  EXPECT_FALSE(msg.contains("tool_calls"));
  ASSERT_EQ(msg["toolgate_tool_runs"].size(), 1u);
  const json& run = msg["toolgate_tool_runs"][0];
  EXPECT_EQ(run["id"], "call_up1");
  EXPECT_EQ(run["type"], "function");
  EXPECT_EQ(run["function"]["name"], "add");
  EXPECT_EQ(run["function"]["arguments"], R"({"a":2,"b":3})");
  EXPECT_EQ(run["ok"], true);
  EXPECT_EQ(run["output"], "5");
  EXPECT_EQ(run["round"], 1);
  EXPECT_EQ(j["choices"][0]["finish_reason"], "stop");
  EXPECT_EQ(j["usage"]["prompt_tokens"], 40);  // both rounds
  EXPECT_EQ(j["usage"]["completion_tokens"], 12);
  EXPECT_EQ(j["usage"]["total_tokens"], 52);

  auto requests = up.requests();
  ASSERT_EQ(requests.size(), 2u);
  json first = body_of(requests[0]);
  EXPECT_EQ(first["model"], "their-name");
  EXPECT_EQ(first["stream"], false);
  ASSERT_EQ(first["tools"].size(), 1u);
  EXPECT_EQ(first["tools"][0]["function"]["name"], "add");
  json second = body_of(requests[1]);
  ASSERT_EQ(second["messages"].size(), 3u);
  EXPECT_EQ(second["messages"][1]["role"], "assistant");
  EXPECT_EQ(second["messages"][1]["tool_calls"][0]["id"], "call_up1");
  EXPECT_EQ(second["messages"][2],
            (json{{"role", "tool"}, {"tool_call_id", "call_up1"}, {"content", "5"}}));
  EXPECT_EQ(toolbox.calls.load(), 1);
  auto s = summary();
  EXPECT_EQ(s.status, 200);
  EXPECT_EQ(s.prompt_tokens, 40);
  EXPECT_EQ(s.completion_tokens, 12);
}

TEST_F(UpstreamToolLoopFixture, AfterMaxToolRoundsServerCallsGoBackToTheClient) {
  ScriptedUpstream up([](int n, tcp::socket& s, const std::string&) {
    answer(s,
           completion("", json::array({call("call_" + std::to_string(n), "add", R"({"a":1})")})));
  });
  serve(up.port(), {"add"});  // max_tool_rounds = 2
  auto sink = std::make_shared<RecordingSink>();
  run({}, sink);
  ASSERT_TRUE(sink->wait_end());
  json j = json::parse(sink->response->body);
  const json& msg = j["choices"][0]["message"];
  ASSERT_EQ(msg["toolgate_tool_runs"].size(), 2u);
  EXPECT_EQ(msg["toolgate_tool_runs"][1]["round"], 2);
  ASSERT_EQ(msg["tool_calls"].size(), 1u);
  EXPECT_EQ(msg["tool_calls"][0]["id"], "call_2");
  EXPECT_EQ(msg["tool_calls"][0]["function"]["name"], "add");
  EXPECT_TRUE(msg["content"].is_null());
  EXPECT_EQ(j["choices"][0]["finish_reason"], "tool_calls");
  EXPECT_EQ(up.connections(), 3);
  EXPECT_EQ(toolbox.calls.load(), 2);
  summary();
}

TEST_F(UpstreamToolLoopFixture, AMixedRoundRunsTheServerCallsAndReturnsTheClientCalls) {
  ScriptedUpstream up([](int, tcp::socket& s, const std::string&) {
    answer(s, completion("Working on it.",
                         json::array({call("call_s", "add", R"({"a":1,"b":1})"),
                                      call("call_c", "get_weather", R"({"city":"Paris"})")})));
  });
  serve(up.port(), {"add"});
  auto sink = std::make_shared<RecordingSink>();
  ojson weather = {{"type", "function"},
                   {"function", {{"name", "get_weather"}, {"parameters", {{"type", "object"}}}}}};
  run({{"tools", ojson::array({weather})}}, sink);
  ASSERT_TRUE(sink->wait_end());
  json j = json::parse(sink->response->body);
  const json& msg = j["choices"][0]["message"];
  EXPECT_EQ(msg["content"], "Working on it.");
  ASSERT_EQ(msg["toolgate_tool_runs"].size(), 1u);
  EXPECT_EQ(msg["toolgate_tool_runs"][0]["output"], "2");
  ASSERT_EQ(msg["tool_calls"].size(), 1u);
  EXPECT_EQ(msg["tool_calls"][0]["id"], "call_c");
  EXPECT_EQ(j["choices"][0]["finish_reason"], "tool_calls");
  EXPECT_EQ(up.connections(), 1);
  // The client's tool went upstream as the client wrote it, next to the server's.
  json first = body_of(up.requests()[0]);
  ASSERT_EQ(first["tools"].size(), 2u);
  EXPECT_EQ(first["tools"][0]["function"]["name"], "get_weather");
  EXPECT_EQ(first["tools"][1]["function"]["name"], "add");
  summary();
}

TEST_F(UpstreamToolLoopFixture, ANameOnlyRequestToolIsDefinedUpstreamAndRunByTheGateway) {
  ScriptedUpstream up([](int n, tcp::socket& s, const std::string&) {
    if (n == 0)
      answer(s, completion("", json::array({call("call_a", "add", R"({"a":4,"b":4})")})));
    else
      answer(s, completion("8"));
  });
  serve(up.port(), {});  // the model has no server tools of its own
  auto sink = std::make_shared<RecordingSink>();
  run({{"tools", ojson::array({{{"type", "function"}, {"function", {{"name", "add"}}}}})}}, sink);
  ASSERT_TRUE(sink->wait_end());
  json j = json::parse(sink->response->body);
  EXPECT_EQ(j["choices"][0]["message"]["content"], "8");
  EXPECT_EQ(j["choices"][0]["message"]["toolgate_tool_runs"][0]["output"], "8");
  json first = body_of(up.requests()[0]);
  EXPECT_EQ(first["tools"][0]["function"]["description"], "server tool add");
  EXPECT_TRUE(first["tools"][0]["function"].contains("parameters"));
  summary();
}

TEST_F(UpstreamToolLoopFixture, MalformedArgumentsBecomeTheToolsErrorResult) {
  ScriptedUpstream up([](int n, tcp::socket& s, const std::string&) {
    if (n == 0)
      answer(s, completion("", json::array({call("call_bad", "add", "{not json")})));
    else
      answer(s, completion("Sorry."));
  });
  serve(up.port(), {"add"});
  auto sink = std::make_shared<RecordingSink>();
  run({}, sink);
  ASSERT_TRUE(sink->wait_end());
  json j = json::parse(sink->response->body);
  const json& run = j["choices"][0]["message"]["toolgate_tool_runs"][0];
  EXPECT_EQ(run["ok"], false);
  EXPECT_EQ(run["output"], "error: the arguments are not a JSON object");
  EXPECT_EQ(toolbox.calls.load(), 0);  // the tool never saw them
  // The model was told, in the tool message, and answered.
  EXPECT_EQ(body_of(up.requests()[1])["messages"][2]["content"],
            "error: the arguments are not a JSON object");
  EXPECT_EQ(j["choices"][0]["message"]["content"], "Sorry.");
  summary();
}

TEST_F(UpstreamToolLoopFixture, AnUpstreamErrorInRoundTwoIsRelayedWithItsStatus) {
  ScriptedUpstream up([](int n, tcp::socket& s, const std::string&) {
    if (n == 0)
      answer(s, completion("", json::array({call("call_a", "add", R"({"a":1})")})));
    else
      answer(
          s,
          R"({"error":{"message":"too long","type":"invalid_request_error","param":null,"code":null}})",
          400);
  });
  serve(up.port(), {"add"});
  auto sink = std::make_shared<RecordingSink>();
  run({}, sink);
  ASSERT_TRUE(sink->wait_end());
  ASSERT_TRUE(sink->response);
  EXPECT_EQ(sink->response->status, 400);
  EXPECT_EQ(json::parse(sink->response->body)["error"]["message"], "too long");
  EXPECT_EQ(summary().status, 400);
}

TEST_F(UpstreamToolLoopFixture, AConnectionBrokenInRoundTwoEndsTheStreamInBand) {
  ScriptedUpstream up([](int n, tcp::socket& s, const std::string&) {
    if (n == 0)
      answer(s, completion("", json::array({call("call_a", "add", R"({"a":1})")})));
    else
      testing::send_text(s,
                         "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"choi");  // then closes
  });
  serve(up.port(), {"add"});
  auto sink = std::make_shared<RecordingSink>();
  run({{"stream", true}}, sink);
  ASSERT_TRUE(sink->wait_end());
  EXPECT_FALSE(sink->response);  // the stream had begun: the error is in-band
  auto ev = sink->events();
  ASSERT_GE(ev.size(), 4u);
  EXPECT_EQ(ev[0]["choices"][0]["delta"]["role"], "assistant");
  EXPECT_TRUE(ev[1]["choices"][0]["delta"].contains("toolgate_tool_runs"));
  EXPECT_EQ(ev[ev.size() - 2]["error"]["type"], "upstream_error");
  EXPECT_EQ(ev.back(), "[DONE]");
  EXPECT_EQ(summary().status, 502);
}

TEST_F(UpstreamToolLoopFixture, ARoundAMemberFailsIsAskedOfAnotherMember) {
  // Member A is overloaded (503) for every round; B answers by the conversation so far: a call
  // to add first, the answer once the tool's result is in. Whichever member a round lands on,
  // the loop completes, and every round that met A was asked again of B.
  ScriptedUpstream a([](int, tcp::socket& s, const std::string&) {
    answer(s, R"({"error":{"message":"busy"}})", 503);
  });
  ScriptedUpstream b([](int, tcp::socket& s, const std::string& request) {
    const json messages = json::parse(ScriptedUpstream::body_of(request))["messages"];
    if (messages.back()["role"] == "tool")
      answer(s, completion("The sum is 5.", json::array(), "", 30, 7));
    else
      answer(s, completion("", json::array({call("call_up1", "add", R"({"a":2,"b":3})")})));
  });
  serve_pool({a.port(), b.port()}, {"add"});
  auto sink = std::make_shared<RecordingSink>();
  run({}, sink);
  ASSERT_TRUE(sink->wait_end());
  ASSERT_TRUE(sink->response);
  EXPECT_EQ(sink->response->status, 200) << sink->response->body;
  json j = json::parse(sink->response->body);
  EXPECT_EQ(j["choices"][0]["message"]["content"], "The sum is 5.");
  EXPECT_EQ(j["choices"][0]["message"]["toolgate_tool_runs"][0]["output"], "5");
  EXPECT_EQ(toolbox.calls.load(), 1);
  EXPECT_GE(a.requests().size(), 1u);  // round one starts on member 0
  EXPECT_EQ(b.requests().size(), 2u);
  EXPECT_EQ(summary().status, 200);
}

TEST_F(UpstreamToolLoopFixture, AnUnreachableUpstreamIsA502BeforeTheStreamBegins) {
  uint16_t closed;
  {
    net::io_context ioc;
    tcp::acceptor a(ioc, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
    closed = a.local_endpoint().port();
  }
  serve(closed, {"add"});
  auto sink = std::make_shared<RecordingSink>();
  run({{"stream", true}}, sink);
  ASSERT_TRUE(sink->wait_end());
  ASSERT_TRUE(sink->response);
  EXPECT_EQ(sink->response->status, 502);
  json err = json::parse(sink->response->body)["error"];
  EXPECT_EQ(err["type"], "upstream_error");
  EXPECT_EQ(err["code"], "upstream_unreachable");
  summary();
}

TEST_F(UpstreamToolLoopFixture, TheStreamIsSynthesizedFromTheRounds) {
  ScriptedUpstream up([](int n, tcp::socket& s, const std::string&) {
    if (n == 0)
      answer(s, completion("Let me add.", json::array({call("call_a", "add", R"({"a":2,"b":3})")}),
                           "", 10, 5));
    else
      answer(s, completion("It is 5.", json::array(), "", 30, 7));
  });
  serve(up.port(), {"add"});
  auto sink = std::make_shared<RecordingSink>();
  run({{"stream", true}, {"stream_options", {{"include_usage", true}}}}, sink);
  ASSERT_TRUE(sink->wait_end());
  ASSERT_TRUE(sink->stream_head);
  EXPECT_EQ(find_header(sink->stream_head->headers, "Content-Type").substr(0, 17),
            "text/event-stream");
  auto ev = sink->events();
  ASSERT_EQ(ev.size(), 7u) << sink->stream;
  EXPECT_EQ(ev[0]["choices"][0]["delta"]["role"], "assistant");
  EXPECT_EQ(ev[1]["choices"][0]["delta"]["content"], "Let me add.");
  const json& runs = ev[2]["choices"][0]["delta"]["toolgate_tool_runs"];
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0]["output"], "5");
  EXPECT_EQ(runs[0]["round"], 1);
  EXPECT_EQ(ev[3]["choices"][0]["delta"]["content"], "It is 5.");
  EXPECT_EQ(ev[4]["choices"][0]["finish_reason"], "stop");
  EXPECT_TRUE(ev[5]["choices"].empty());
  EXPECT_EQ(ev[5]["usage"]["prompt_tokens"], 40);
  EXPECT_EQ(ev[5]["usage"]["completion_tokens"], 12);
  EXPECT_EQ(ev[6], "[DONE]");
  for (size_t i = 0; i < 6; ++i) {
    EXPECT_EQ(ev[i]["id"], ev[0]["id"]);
    EXPECT_EQ(ev[i]["object"], "chat.completion.chunk");
    EXPECT_EQ(ev[i]["model"], "remote");
  }
  // Both rounds were asked whole, without stream_options (which needs stream: true).
  for (const auto& r : up.requests()) {
    EXPECT_EQ(body_of(r)["stream"], false);
    EXPECT_FALSE(body_of(r).contains("stream_options"));
  }
  EXPECT_GE(summary().ttft_ms, 0);
}

TEST_F(UpstreamToolLoopFixture, StreamedClientCallsAreToolCallDeltasInOpenAIShape) {
  max_tool_rounds = 1;
  ScriptedUpstream up([](int n, tcp::socket& s, const std::string&) {
    answer(s,
           completion("", json::array({call("call_" + std::to_string(n), "add", R"({"a":1})")})));
  });
  serve(up.port(), {"add"});
  auto sink = std::make_shared<RecordingSink>();
  run({{"stream", true}}, sink);
  ASSERT_TRUE(sink->wait_end());
  auto ev = sink->events();
  ASSERT_EQ(ev.size(), 5u) << sink->stream;  // role, runs, tool_calls, finish, [DONE]
  EXPECT_TRUE(ev[1]["choices"][0]["delta"].contains("toolgate_tool_runs"));
  const json& tc = ev[2]["choices"][0]["delta"]["tool_calls"][0];
  EXPECT_EQ(tc["index"], 0);
  EXPECT_EQ(tc["id"], "call_1");
  EXPECT_EQ(tc["type"], "function");
  EXPECT_EQ(tc["function"]["name"], "add");
  EXPECT_EQ(tc["function"]["arguments"], R"({"a":1})");
  EXPECT_EQ(ev[3]["choices"][0]["finish_reason"], "tool_calls");
  EXPECT_EQ(ev[4], "[DONE]");
  summary();
}

TEST_F(UpstreamToolLoopFixture, AClientLeavingMidLoopClosesTheUpstreamRequestAndFreesTheJob) {
  std::promise<bool> saw_close;
  ScriptedUpstream up([&saw_close](int n, tcp::socket& s, const std::string&) {
    if (n == 0)
      return answer(s, completion("", json::array({call("call_a", "add", R"({"a":1})")})));
    // Round 2 never answers; it only waits for the gateway to hang up.
    char c;
    boost::system::error_code ec;
    s.read_some(net::buffer(&c, 1), ec);
    saw_close.set_value(ec == net::error::eof || ec == net::error::connection_reset);
  });
  serve(up.port(), {"add"});
  auto sink = std::make_shared<RecordingSink>();
  std::weak_ptr<ChatCompletionJob> weak;
  {
    auto job = run({{"stream", true}}, sink);
    weak = job;
    ASSERT_TRUE(sink->wait_stream_contains("toolgate_tool_runs"));
    for (int i = 0; i < 200 && up.connections() < 2; ++i) std::this_thread::sleep_for(5ms);
    ASSERT_EQ(up.connections(), 2);
    net::post(strand, [job] { job->abandon(); });
  }
  auto closed = saw_close.get_future();
  ASSERT_EQ(closed.wait_for(5s), std::future_status::ready);
  EXPECT_TRUE(closed.get());
  EXPECT_EQ(summary().status, 499);
  EXPECT_NE(metrics.render({}, 0, 0).find("toolgate:client_disconnects_total 1"),
            std::string::npos);
  // Nothing holds the job any more: no exchange, no pending round, no handler.
  for (int i = 0; i < 200 && !weak.expired(); ++i) std::this_thread::sleep_for(5ms);
  EXPECT_TRUE(weak.expired());
}

TEST_F(UpstreamToolLoopFixture, AClientLeavingWhileAToolRunsAsksNoFurtherRound) {
  std::promise<void> release;
  toolbox.release = release.get_future().share();
  ScriptedUpstream up([](int, tcp::socket& s, const std::string&) {
    answer(s, completion("", json::array({call("call_s", "slow", "{}")})));
  });
  serve(up.port(), {"slow"});
  auto sink = std::make_shared<RecordingSink>();
  auto job = run({}, sink);
  ASSERT_EQ(toolbox.started.get_future().wait_for(5s), std::future_status::ready);
  net::post(strand, [job] { job->abandon(); });
  auto f = done.get_future();
  // The worker still holds the tool: the job is not done until it returns.
  EXPECT_EQ(f.wait_for(100ms), std::future_status::timeout);
  release.set_value();
  ASSERT_EQ(f.wait_for(5s), std::future_status::ready);
  EXPECT_EQ(f.get().status, 499);
  EXPECT_EQ(up.connections(), 1);
  EXPECT_FALSE(sink->ended);  // nothing was written after the client left
}

TEST_F(UpstreamToolLoopFixture, WithoutServerToolsTheStreamIsRelayedAsBefore) {
  ScriptedUpstream up([](int, tcp::socket& s, const std::string&) {
    testing::send_text(s,
                       "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                       "Connection: close\r\n\r\n"
                       "data: {\"id\":\"chatcmpl-up\",\"model\":\"their-name\",\"choices\":[]}\n\n"
                       "data: [DONE]\n\n");
  });
  serve(up.port(), {});
  auto sink = std::make_shared<RecordingSink>();
  run({{"stream", true},
       {"tools",
        ojson::array({{{"type", "function"},
                       {"function", {{"name", "f"}, {"parameters", {{"type", "object"}}}}}}})}},
      sink);
  ASSERT_TRUE(sink->wait_end());
  auto ev = sink->events();
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_EQ(ev[0]["id"], "chatcmpl-up");  // the upstream's own chunk, relayed
  EXPECT_EQ(ev[0]["model"], "remote");
  json sent = body_of(up.last_request());
  EXPECT_EQ(sent["stream"], true);
  EXPECT_EQ(sent["tools"].size(), 1u);
  summary();
}

}  // namespace
}  // namespace toolgate::gateway
