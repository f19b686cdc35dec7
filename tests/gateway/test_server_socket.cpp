// The real Beast server on an ephemeral port, driven over TCP, with the scripted engine.
#include <gtest/gtest.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <thread>

#include "fakes.h"
#include "gateway/metrics.h"
#include "gateway/server.h"

namespace toolgate::gateway {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using nlohmann::json;
using namespace std::chrono_literals;

class Client {
 public:
  explicit Client(uint16_t port) : sock_(ioc_) {
    sock_.connect(tcp::endpoint(net::ip::address_v4::loopback(), port));
  }
  void send(const std::string& raw) { net::write(sock_, net::buffer(raw)); }
  http::response<http::string_body> read() {
    http::response<http::string_body> r;
    http::read(sock_, buf_, r);
    return r;
  }
  http::response<http::string_body> request(const std::string& method, const std::string& target,
                                            const std::string& body = "",
                                            const std::string& extra_headers = "") {
    std::string raw = method + " " + target + " HTTP/1.1\r\nHost: x\r\n" + extra_headers;
    if (!body.empty() || method == "POST")
      raw += "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
             "\r\n";
    raw += "\r\n" + body;
    send(raw);
    return read();
  }
  // True when the server has closed the connection (read returns EOF/reset within `timeout`).
  bool closed_within(std::chrono::milliseconds timeout) {
    sock_.non_blocking(false);
    struct timeval tv{static_cast<time_t>(timeout.count() / 1000),
                      static_cast<suseconds_t>((timeout.count() % 1000) * 1000)};
    setsockopt(sock_.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char c;
    ssize_t n = ::recv(sock_.native_handle(), &c, 1, 0);
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
  }
  tcp::socket& socket() { return sock_; }
  beast::flat_buffer& buffer() { return buf_; }

 private:
  net::io_context ioc_;
  tcp::socket sock_;
  beast::flat_buffer buf_;
};

const std::string kChat = R"({"model":"fake","messages":[{"role":"user","content":"hi"}]})";
const std::string kStream =
    R"({"model":"fake","messages":[{"role":"user","content":"hi"}],"stream":true})";

struct ServerFixture : ::testing::Test {
  std::unique_ptr<testing::FakeEngine> engine;
  std::unique_ptr<Server> server;
  ServerOptions options;

  ServerFixture() {
    options.host = "127.0.0.1";
    options.port = 0;
    options.io_threads = 2;
    options.handle_signals = false;
    options.header_timeout = 500ms;
    options.idle_timeout = 2s;
    options.max_body_bytes = 1024;
    options.shutdown_grace = 2s;
  }

  void start(std::chrono::milliseconds step = 1ms, size_t tokens = 5) {
    testing::FakeEngine::Options o;
    o.step = step;
    o.script = [tokens](const std::string&) { return std::vector<std::string>(tokens, "tok "); };
    engine = std::make_unique<testing::FakeEngine>(o);
    ServedModel m;
    m.id = "fake";
    m.engine = engine.get();
    m.renderer = std::make_shared<testing::ChatMlRenderer>();
    server = std::make_unique<Server>(options, std::vector<ServedModel>{m});
    server->start();
  }

  ~ServerFixture() override {
    if (server) server->stop();
    if (engine) engine->shutdown();
  }
};

TEST_F(ServerFixture, ServesModelsWithKeepAlive) {
  start();
  Client c(server->port());
  for (int i = 0; i < 3; ++i) {
    auto r = c.request("GET", "/v1/models");
    EXPECT_EQ(r.result_int(), 200);
    EXPECT_TRUE(r.keep_alive());
    EXPECT_EQ(json::parse(r.body())["data"][0]["id"], "fake");
    EXPECT_FALSE(r["x-request-id"].empty());
  }
}

TEST_F(ServerFixture, ChatCompletionNonStreaming) {
  start();
  Client c(server->port());
  auto r = c.request("POST", "/v1/chat/completions", kChat);
  ASSERT_EQ(r.result_int(), 200) << r.body();
  json j = json::parse(r.body());
  EXPECT_EQ(j["choices"][0]["message"]["content"], "tok tok tok tok tok ");
  // And the connection is still usable.
  EXPECT_EQ(c.request("GET", "/health").result_int(), 200);
}

TEST_F(ServerFixture, StreamingIsChunkedSseEndingWithDone) {
  start();
  Client c(server->port());
  auto r = c.request("POST", "/v1/chat/completions", kStream);
  ASSERT_EQ(r.result_int(), 200);
  EXPECT_EQ(r[http::field::content_type].substr(0, 17), "text/event-stream");
  EXPECT_EQ(r[http::field::cache_control], "no-cache");
  EXPECT_TRUE(r.chunked());
  const std::string& body = r.body();
  EXPECT_EQ(body.rfind("data: {", 0), 0u);
  EXPECT_EQ(body.substr(body.size() - 14), "data: [DONE]\n\n");
  std::string content;
  size_t pos = 0;
  while ((pos = body.find("data: {", pos)) != std::string::npos) {
    auto end = body.find("\n\n", pos);
    json ev = json::parse(body.substr(pos + 6, end - pos - 6));
    const json& d = ev["choices"][0]["delta"];
    if (d.contains("content")) content += d["content"].get<std::string>();
    pos = end;
  }
  EXPECT_EQ(content, "tok tok tok tok tok ");
  EXPECT_EQ(c.request("GET", "/v1/models").result_int(), 200);  // keep-alive after a stream
}

TEST_F(ServerFixture, ClientDisconnectMidStreamCancelsTheGeneration) {
  start(10ms, 100000);
  {
    Client c(server->port());
    c.send(
        "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        "Content-Length: " +
        std::to_string(kStream.size()) + "\r\n\r\n" + kStream);
    http::response_parser<http::empty_body> p;
    http::read_header(c.socket(), c.buffer(), p);
    ASSERT_EQ(p.get().result_int(), 200);
    // Wait for some tokens to flow, then hang up.
    std::this_thread::sleep_for(100ms);
    ASSERT_EQ(engine->active(), 1);
  }
  auto deadline = std::chrono::steady_clock::now() + 3s;
  while (engine->cancelled().empty() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(10ms);
  EXPECT_EQ(engine->cancelled().size(), 1u);
  EXPECT_TRUE(engine->wait_idle(3s));
  EXPECT_EQ(engine->stats().kv_blocks_used, 0);
}

TEST_F(ServerFixture, ClientDisconnectDuringNonStreamingGenerationCancelsToo) {
  start(10ms, 100000);
  {
    Client c(server->port());
    c.send("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: " +
           std::to_string(kChat.size()) + "\r\n\r\n" + kChat);
    std::this_thread::sleep_for(100ms);
  }
  EXPECT_TRUE(engine->wait_idle(3s));
  EXPECT_EQ(engine->cancelled().size(), 1u);
}

TEST_F(ServerFixture, OversizeBodyIs413) {
  start();
  Client c(server->port());
  std::string big(4096, 'x');
  auto r = c.request("POST", "/v1/chat/completions", big);
  EXPECT_EQ(r.result_int(), 413);
  EXPECT_EQ(json::parse(r.body())["error"]["type"], "invalid_request_error");
  EXPECT_FALSE(r.keep_alive());
}

TEST_F(ServerFixture, MissingApiKeyIs401) {
  options.api_keys = {"sk-test"};
  start();
  Client c(server->port());
  auto r = c.request("POST", "/v1/chat/completions", kChat);
  EXPECT_EQ(r.result_int(), 401);
  EXPECT_EQ(json::parse(r.body())["error"]["code"], "invalid_api_key");
  auto ok = c.request("POST", "/v1/chat/completions", kChat, "Authorization: Bearer sk-test\r\n");
  EXPECT_EQ(ok.result_int(), 200);
}

TEST_F(ServerFixture, UnknownRouteIs404AndWrongMethodIs405) {
  start();
  Client c(server->port());
  EXPECT_EQ(c.request("GET", "/nope").result_int(), 404);
  EXPECT_EQ(c.request("PUT", "/v1/chat/completions", "{}").result_int(), 405);
  auto unknown_model = c.request("POST", "/v1/chat/completions",
                                 R"({"model":"x","messages":[{"role":"user","content":"hi"}]})");
  EXPECT_EQ(unknown_model.result_int(), 404);
  EXPECT_EQ(c.request("POST", "/v1/chat/completions", "{oops").result_int(), 400);
}

TEST_F(ServerFixture, MalformedHttpIs400) {
  start();
  Client c(server->port());
  c.send("THIS IS NOT HTTP\r\n\r\n");
  auto r = c.read();
  EXPECT_EQ(r.result_int(), 400);
}

TEST_F(ServerFixture, SlowHeaderIsCutByTheHeaderTimeout) {
  start();
  Client c(server->port());
  c.send("GET /v1/models HTTP/1.1\r\nHost: x\r\n");  // never finishes the head
  EXPECT_TRUE(c.closed_within(3s));
}

// A head sent one byte at a time still has to be complete within header_timeout: the deadline
// covers the whole head, not each read (slowloris).
TEST_F(ServerFixture, TrickledHeaderIsCutByTheHeaderTimeout) {
  start();
  Client c(server->port());
  const std::string head = "GET /v1/models HTTP/1.1\r\nHost: x\r\nX-Pad: " + std::string(200, 'a');
  bool cut = false;
  for (char ch : head) {
    beast::error_code ec;
    net::write(c.socket(), net::buffer(&ch, 1), ec);
    if (ec) {
      cut = true;
      break;
    }
    std::this_thread::sleep_for(20ms);  // 200+ bytes * 20 ms = over 4 s, far past 500 ms
  }
  EXPECT_TRUE(cut || c.closed_within(3s));
}

// Same for a body that never completes: the body read has a deadline too (idle_timeout).
TEST_F(ServerFixture, StalledBodyIsCutByTheIdleTimeout) {
  options.idle_timeout = 300ms;
  start();
  Client c(server->port());
  c.send("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
         "Content-Length: 500\r\n\r\n{\"model\":");
  EXPECT_TRUE(c.closed_within(3s));
}

TEST_F(ServerFixture, TooManyHeaderFieldsIs431InOpenAiShape) {
  options.max_header_count = 20;
  start();
  Client c(server->port());
  std::string extra;
  for (int i = 0; i < 25; ++i) extra += "X-Field-" + std::to_string(i) + ": v\r\n";
  auto r = c.request("GET", "/v1/models", "", extra);
  EXPECT_EQ(r.result_int(), 431);
  auto body = json::parse(r.body());
  EXPECT_EQ(body["error"]["type"], "invalid_request_error");
  EXPECT_NE(body["error"]["message"].get<std::string>().find("header fields"), std::string::npos);
  EXPECT_FALSE(r.keep_alive());
}

TEST_F(ServerFixture, HeaderFieldsUpToTheCountAreServed) {
  options.max_header_count = 20;
  start();
  Client c(server->port());
  std::string extra;
  for (int i = 0; i < 19; ++i) extra += "X-Field-" + std::to_string(i) + ": v\r\n";  // + Host
  EXPECT_EQ(c.request("GET", "/v1/models", "", extra).result_int(), 200);
}

TEST_F(ServerFixture, OversizeHeadIs431InOpenAiShapeAndTheServerGoesOn) {
  options.max_header_bytes = 2048;
  start();
  {
    Client c(server->port());
    auto r = c.request("GET", "/v1/models", "", "X-Big: " + std::string(4096, 'b') + "\r\n");
    EXPECT_EQ(r.result_int(), 431);
    EXPECT_EQ(json::parse(r.body())["error"]["type"], "invalid_request_error");
  }
  Client c(server->port());
  EXPECT_EQ(c.request("GET", "/v1/models", "", "X-Small: " + std::string(1000, 's') + "\r\n")
                .result_int(),
            200);
}

TEST_F(ServerFixture, IdleKeepAliveConnectionIsClosed) {
  options.idle_timeout = 300ms;
  start();
  Client c(server->port());
  EXPECT_EQ(c.request("GET", "/health").result_int(), 200);
  EXPECT_TRUE(c.closed_within(3s));
}

TEST_F(ServerFixture, BeyondConcurrencyAndQueueIs429) {
  options.max_concurrent_requests = 1;
  options.max_queue = 0;
  start(10ms, 100000);
  Client busy(server->port());
  busy.send("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: " +
            std::to_string(kStream.size()) + "\r\n\r\n" + kStream);
  http::response_parser<http::empty_body> p;
  http::read_header(busy.socket(), busy.buffer(), p);
  ASSERT_EQ(p.get().result_int(), 200);
  Client other(server->port());
  auto r = other.request("POST", "/v1/chat/completions", kChat);
  EXPECT_EQ(r.result_int(), 429);
  EXPECT_EQ(r["Retry-After"], "1");
  EXPECT_EQ(json::parse(r.body())["error"]["type"], "rate_limit_error");
  EXPECT_EQ(other.request("GET", "/v1/models").result_int(), 200);  // others unaffected
}

TEST_F(ServerFixture, QueuedRequestRunsWhenASlotFrees) {
  options.max_concurrent_requests = 1;
  options.max_queue = 4;
  start(2ms, 20);
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int i = 0; i < 4; ++i)
    threads.emplace_back([&] {
      Client c(server->port());
      if (c.request("POST", "/v1/chat/completions", kChat).result_int() == 200) ++ok;
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 4);
}

TEST_F(ServerFixture, ExpectContinueGetsInterimResponse) {
  start();
  Client c(server->port());
  c.send(
      "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
      "Content-Length: " +
      std::to_string(kChat.size()) + "\r\n\r\n");
  char buf[25] = {};
  net::read(c.socket(), net::buffer(buf, 25));
  EXPECT_EQ(std::string(buf, 25), "HTTP/1.1 100 Continue\r\n\r\n");
  c.send(kChat);
  EXPECT_EQ(c.read().result_int(), 200);
}

TEST_F(ServerFixture, MetricsCountResponsesByStatus) {
  start();
  Client c(server->port());
  c.request("GET", "/nope");
  auto r = c.request("GET", "/metrics");
  EXPECT_EQ(r.result_int(), 200);
  EXPECT_NE(r.body().find("toolgate:http_requests_total{status=\"404\"} 1"), std::string::npos);
  EXPECT_NE(r.body().find("toolgate:kv_blocks_used{model_name=\"fake\"}"), std::string::npos);
}

TEST_F(ServerFixture, StopEndsInFlightStreamsAndReturns) {
  start(10ms, 100000);
  Client c(server->port());
  c.send("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: " +
         std::to_string(kStream.size()) + "\r\n\r\n" + kStream);
  std::this_thread::sleep_for(100ms);
  auto t0 = std::chrono::steady_clock::now();
  std::thread stopper([&] { server->stop(); });
  http::response<http::string_body> r;
  beast::error_code ec;
  http::read(c.socket(), c.buffer(), r, ec);
  stopper.join();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s);
  EXPECT_FALSE(ec) << ec.message();
  EXPECT_NE(r.body().find("\"error\""), std::string::npos);
  EXPECT_EQ(r.body().substr(r.body().size() - 14), "data: [DONE]\n\n");
  EXPECT_TRUE(c.closed_within(1s));
  EXPECT_EQ(engine->cancelled().size(), 1u);
}

TEST_F(ServerFixture, RequestTimeoutStopsALongGenerationWith504) {
  options.request_timeout = 200ms;
  start(10ms, 100000);
  Client c(server->port());
  auto r = c.request("POST", "/v1/chat/completions", kChat);
  EXPECT_EQ(r.result_int(), 504);
  EXPECT_EQ(json::parse(r.body())["error"]["code"], "request_timeout");
  EXPECT_TRUE(engine->wait_idle(2s));
  EXPECT_EQ(engine->cancelled().size(), 1u);
  EXPECT_EQ(c.request("GET", "/health").result_int(), 200);  // the connection lives on
}

TEST_F(ServerFixture, PipelinedRequestsAreAnsweredInOrder) {
  start();
  Client c(server->port());
  c.send("GET /health HTTP/1.1\r\nHost: x\r\n\r\n"
         "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: " +
         std::to_string(kChat.size()) + "\r\n\r\n" + kChat +
         "GET /v1/models HTTP/1.1\r\nHost: x\r\n\r\n");
  auto a = c.read();
  auto b = c.read();
  auto d = c.read();
  EXPECT_EQ(json::parse(a.body())["status"], "ok");
  EXPECT_EQ(json::parse(b.body())["object"], "chat.completion");
  EXPECT_EQ(json::parse(d.body())["object"], "list");
}

TEST_F(ServerFixture, ChunkedRequestBodyIsAcceptedAndLimited) {
  start();
  Client c(server->port());
  std::string half1 = kChat.substr(0, 20), half2 = kChat.substr(20);
  char h1[16], h2[16];
  std::snprintf(h1, sizeof h1, "%zx", half1.size());
  std::snprintf(h2, sizeof h2, "%zx", half2.size());
  c.send("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" +
         std::string(h1) + "\r\n" + half1 + "\r\n" + h2 + "\r\n" + half2 + "\r\n0\r\n\r\n");
  EXPECT_EQ(c.read().result_int(), 200);
  Client big(server->port());
  std::string chunk(1000, 'x');
  big.send("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
           "3e8\r\n" + chunk + "\r\n3e8\r\n" + chunk + "\r\n0\r\n\r\n");
  EXPECT_EQ(big.read().result_int(), 413);
}

TEST_F(ServerFixture, BadRequestDoesNotDisturbAStreamInFlight) {
  start(5ms, 40);
  Client streaming(server->port());
  streaming.send("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: " +
                 std::to_string(kStream.size()) + "\r\n\r\n" + kStream);
  for (int i = 0; i < 5; ++i) {
    Client bad(server->port());
    bad.send("GARBAGE\r\n\r\n");
    EXPECT_EQ(bad.read().result_int(), 400);
    Client bad_json(server->port());
    EXPECT_EQ(bad_json.request("POST", "/v1/chat/completions", "[1,2").result_int(), 400);
  }
  auto r = streaming.read();
  EXPECT_EQ(r.result_int(), 200);
  EXPECT_EQ(r.body().substr(r.body().size() - 14), "data: [DONE]\n\n");
}

TEST_F(ServerFixture, HealthIs503UntilModelsArePublished) {
  engine = std::make_unique<testing::FakeEngine>(testing::FakeEngine::Options{});
  server = std::make_unique<Server>(options, std::vector<ServedModel>{});
  server->start();
  Client c(server->port());
  EXPECT_EQ(c.request("GET", "/health").result_int(), 503);
  ServedModel m;
  m.id = "fake";
  m.engine = engine.get();
  m.renderer = std::make_shared<testing::ChatMlRenderer>();
  server->publish_models({m});
  EXPECT_EQ(c.request("GET", "/health").result_int(), 200);
}

}  // namespace
}  // namespace toolgate::gateway
