// Failover inside an upstream pool, against scripted upstreams on loopback: what is retried on
// another member (connect errors, 502/503/504, a connection lost before anything reached the
// client) and what is not (a stream that has begun), and what the pool records.
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

std::string completion(const std::string& content) {
  return json{{"id", "chatcmpl-up"},
              {"object", "chat.completion"},
              {"model", "their-name"},
              {"choices", json::array({{{"index", 0},
                                        {"message", {{"role", "assistant"}, {"content", content}}},
                                        {"finish_reason", "stop"}}})},
              {"usage", {{"prompt_tokens", 3}, {"completion_tokens", 1}}}}
      .dump();
}

std::string chunk(const std::string& text) {
  return "data: " +
         json{{"id", "c"},
              {"object", "chat.completion.chunk"},
              {"model", "their-name"},
              {"choices", json::array({{{"index", 0}, {"delta", {{"content", text}}}}})}}
             .dump() +
         "\n\n";
}

constexpr const char* kSseHead =
    "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n";

void ok(tcp::socket& s) {
  testing::send_text(s, testing::http_response(200, "application/json", completion("from B")));
}

void status(tcp::socket& s, int code) {
  testing::send_text(
      s, testing::http_response(code, "application/json", R"({"error":{"message":"busy"}})"));
}

void sse_ok(tcp::socket& s) {
  testing::send_text(s, std::string(kSseHead) + chunk("from B") + "data: [DONE]\n\n");
}

uint16_t closed_port() {
  net::io_context io;
  tcp::acceptor a(io, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
  return a.local_endpoint().port();  // closed when `a` goes
}

struct UpstreamFailoverFixture : ::testing::Test {
  Metrics metrics;
  testing::FakeToolbox toolbox;
  std::shared_ptr<ModelCatalog> catalog;
  std::shared_ptr<UpstreamPool> pool;
  std::promise<JobSummary> done;

  net::io_context io;
  net::executor_work_guard<net::io_context::executor_type> io_guard{io.get_executor()};
  net::strand<net::io_context::executor_type> strand{io.get_executor()};
  std::thread io_thread{[this] { io.run(); }};

  ~UpstreamFailoverFixture() override {
    io_guard.reset();
    io.stop();
    io_thread.join();
  }

  // Member 0 is tried first (an idle least-outstanding pool starts its rotation there).
  void serve(std::vector<uint16_t> ports, int retries = 2) {
    std::vector<UpstreamPoolMemberSpec> members;
    for (uint16_t port : ports) {
      auto t = std::make_shared<UpstreamTarget>();
      t->base_url = "http://127.0.0.1:" + std::to_string(port) + "/v1";
      t->url = *parse_upstream_url(t->base_url, nullptr);
      t->remote_model = "their-name";
      t->timeout = 2s;
      t->retries = 0;
      members.push_back({t, 1, 0});
    }
    UpstreamPoolOptions o;
    o.max_retries = retries;
    auto first = members.front().target;
    pool = std::make_shared<UpstreamPool>("remote", o, std::move(members));
    ServedModel m;
    m.id = "remote";
    m.owned_by = "upstream";
    m.upstream = first;
    m.upstream_pool = pool;
    catalog = std::make_shared<ModelCatalog>(std::vector<ServedModel>{m});
  }

  std::shared_ptr<ChatCompletionJob> run(ojson body, std::shared_ptr<RecordingSink> sink) {
    body["model"] = "remote";
    body["messages"] = ojson::array({{{"role", "user"}, {"content", "hi"}}});
    auto parsed = parse_upstream_chat_request(std::move(body));
    JobEnvironment env;
    env.post = [this](std::function<void()> f) { net::post(strand, std::move(f)); };
    env.toolbox = &toolbox;
    env.metrics = &metrics;
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

  std::string metrics_text() {
    std::string text;
    UpstreamPool::render_metrics(text, {pool.get()});
    return text;
  }
};

TEST_F(UpstreamFailoverFixture, A503IsAnsweredByTheNextMember) {
  ScriptedUpstream a([](int, tcp::socket& s, const std::string&) { status(s, 503); });
  ScriptedUpstream b([](int, tcp::socket& s, const std::string&) { ok(s); });
  serve({a.port(), b.port()});
  auto sink = std::make_shared<RecordingSink>();
  auto job = run({}, sink);
  ASSERT_TRUE(sink->wait_end());
  ASSERT_TRUE(sink->response);
  EXPECT_EQ(sink->response->status, 200);
  EXPECT_NE(sink->response->body.find("from B"), std::string::npos);
  EXPECT_EQ(summary().status, 200);
  EXPECT_EQ(a.connections(), 1);
  EXPECT_EQ(b.connections(), 1);
  EXPECT_NE(metrics_text().find("toolgate:upstream_retries_total{model_name=\"remote\"} 1"),
            std::string::npos);
}

TEST_F(UpstreamFailoverFixture, AnUnreachableMemberIsSkippedForTheNext) {
  ScriptedUpstream b([](int, tcp::socket& s, const std::string&) { ok(s); });
  serve({closed_port(), b.port()});
  auto sink = std::make_shared<RecordingSink>();
  auto job = run({}, sink);
  ASSERT_TRUE(sink->wait_end());
  ASSERT_TRUE(sink->response);
  EXPECT_EQ(sink->response->status, 200);
  summary();
  EXPECT_NE(
      metrics_text().find(
          "toolgate:upstream_errors_total{model_name=\"remote\",upstream=\"http://127.0.0.1:"),
      std::string::npos);
}

TEST_F(UpstreamFailoverFixture, AStreamLostBeforeItsFirstEventIsRetriedUnseen) {
  // A: the SSE head, then the connection drops (a replica killed during prefill).
  ScriptedUpstream a(
      [](int, tcp::socket& s, const std::string&) { testing::send_text(s, kSseHead); });
  ScriptedUpstream b([](int, tcp::socket& s, const std::string&) { sse_ok(s); });
  serve({a.port(), b.port()});
  auto sink = std::make_shared<RecordingSink>();
  auto job = run({{"stream", true}}, sink);
  ASSERT_TRUE(sink->wait_end());
  ASSERT_TRUE(sink->stream_head);
  EXPECT_EQ(sink->stream_head->status, 200);
  auto events = sink->events();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0]["choices"][0]["delta"]["content"], "from B");
  EXPECT_EQ(events[0]["model"], "remote");
  EXPECT_EQ(events[1], "[DONE]");
  EXPECT_EQ(summary().status, 200);
}

TEST_F(UpstreamFailoverFixture, AChunkedStreamCutBeforeItsFirstEventIsRetriedUnseen) {
  ScriptedUpstream a([](int, tcp::socket& s, const std::string&) {
    testing::send_text(s,
                       "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                       "Transfer-Encoding: chunked\r\n\r\n");
  });
  ScriptedUpstream b([](int, tcp::socket& s, const std::string&) { sse_ok(s); });
  serve({a.port(), b.port()});
  auto sink = std::make_shared<RecordingSink>();
  auto job = run({{"stream", true}}, sink);
  ASSERT_TRUE(sink->wait_end());
  auto events = sink->events();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0]["choices"][0]["delta"]["content"], "from B");
  EXPECT_EQ(summary().status, 200);
}

TEST_F(UpstreamFailoverFixture, AStreamThatHasBegunIsNeverRetried) {
  ScriptedUpstream a([](int, tcp::socket& s, const std::string&) {
    testing::send_text(s, std::string(kSseHead) + chunk("from A"));  // then the replica dies
  });
  ScriptedUpstream b([](int, tcp::socket& s, const std::string&) { sse_ok(s); });
  serve({a.port(), b.port()});
  auto sink = std::make_shared<RecordingSink>();
  auto job = run({{"stream", true}}, sink);
  ASSERT_TRUE(sink->wait_end());
  auto events = sink->events();
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0]["choices"][0]["delta"]["content"], "from A");
  EXPECT_TRUE(events[1].contains("error"));
  EXPECT_EQ(events[2], "[DONE]");
  EXPECT_EQ(b.connections(), 0);
  summary();
}

TEST_F(UpstreamFailoverFixture, ANonStreamedAnswerLostMidBodyIsRetried) {
  ScriptedUpstream a([](int, tcp::socket& s, const std::string&) {
    testing::send_text(s,
                       "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                       "Content-Length: 500\r\n\r\n{\"id\":");
  });
  ScriptedUpstream b([](int, tcp::socket& s, const std::string&) { ok(s); });
  serve({a.port(), b.port()});
  auto sink = std::make_shared<RecordingSink>();
  auto job = run({}, sink);
  ASSERT_TRUE(sink->wait_end());
  ASSERT_TRUE(sink->response);
  EXPECT_EQ(sink->response->status, 200);
  EXPECT_NE(sink->response->body.find("from B"), std::string::npos);
  summary();
}

TEST_F(UpstreamFailoverFixture, WhenEveryMemberFailsTheLastFailureIsRelayed) {
  ScriptedUpstream a([](int, tcp::socket& s, const std::string&) { status(s, 502); });
  ScriptedUpstream b([](int, tcp::socket& s, const std::string&) { status(s, 503); });
  serve({a.port(), b.port()});
  auto sink = std::make_shared<RecordingSink>();
  auto job = run({}, sink);
  ASSERT_TRUE(sink->wait_end());
  ASSERT_TRUE(sink->response);
  EXPECT_EQ(sink->response->status, 503);
  EXPECT_EQ(a.connections() + b.connections(), 2);
  summary();
}

TEST_F(UpstreamFailoverFixture, RetriesStopAtTheRequestsLimit) {
  ScriptedUpstream a([](int, tcp::socket& s, const std::string&) { status(s, 503); });
  ScriptedUpstream b([](int, tcp::socket& s, const std::string&) { ok(s); });
  serve({a.port(), b.port()}, /*retries=*/0);
  auto sink = std::make_shared<RecordingSink>();
  auto job = run({}, sink);
  ASSERT_TRUE(sink->wait_end());
  ASSERT_TRUE(sink->response);
  EXPECT_EQ(sink->response->status, 503);
  EXPECT_EQ(b.connections(), 0);
  summary();
}

}  // namespace
}  // namespace toolgate::gateway
