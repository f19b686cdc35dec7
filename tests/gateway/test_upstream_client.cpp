// UpstreamExchange against a scripted upstream on a local socket: retries, timeouts, bodies
// handed over as they arrive, and cancel() closing the connection.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <atomic>
#include <future>
#include <mutex>
#include <thread>

#include "gateway/upstream_client.h"
#include "scripted_upstream.h"

namespace toolgate::gateway {
namespace {

namespace net = boost::asio;
using tcp = net::ip::tcp;

using testing::ScriptedUpstream;

void send(tcp::socket& s, std::string_view text) { testing::send_text(s, text); }

struct Outcome {
  int status = 0;
  std::string content_type;
  std::vector<std::string> pieces;
  std::optional<UpstreamFailure> failure;
};

std::shared_ptr<UpstreamTarget> target_for(uint16_t port, int retries = 0,
                                           std::chrono::milliseconds timeout =
                                               std::chrono::milliseconds(2000)) {
  auto t = std::make_shared<UpstreamTarget>();
  t->base_url = "http://127.0.0.1:" + std::to_string(port) + "/v1";
  t->url = *parse_upstream_url(t->base_url, nullptr);
  t->api_key = "sk-up";
  t->remote_model = "m";
  t->timeout = timeout;
  t->retries = retries;
  return t;
}

Outcome run_exchange(std::shared_ptr<UpstreamTarget> target) {
  net::io_context ioc;
  Outcome out;
  UpstreamExchange::Handlers h;
  h.on_head = [&](int status, std::string ct) {
    out.status = status;
    out.content_type = std::move(ct);
  };
  h.on_data = [&](std::string d) { out.pieces.push_back(std::move(d)); };
  h.on_end = [&](std::optional<UpstreamFailure> f) { out.failure = std::move(f); };
  auto ex = UpstreamExchange::start(net::make_strand(ioc), std::move(target), "/chat/completions",
                                    R"({"model":"m"})", true, std::move(h));
  ioc.run();
  return out;
}

std::string joined(const Outcome& o) {
  std::string s;
  for (const auto& p : o.pieces) s += p;
  return s;
}

TEST(UpstreamExchange, SendsThePostWithKeyAndPathAndReadsTheBody) {
  ScriptedUpstream up([](int, tcp::socket& s, const std::string&) {
    send(s, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}");
  });
  Outcome o = run_exchange(target_for(up.port()));
  EXPECT_FALSE(o.failure);
  EXPECT_EQ(o.status, 200);
  EXPECT_EQ(o.content_type, "application/json");
  EXPECT_EQ(joined(o), "{}");
  EXPECT_EQ(up.last_request().rfind("POST /v1/chat/completions HTTP/1.1\r\n", 0), 0u);
  EXPECT_NE(up.last_request().find("Authorization: Bearer sk-up"), std::string::npos);
  EXPECT_NE(up.last_request().find("Accept: text/event-stream"), std::string::npos);
}

TEST(UpstreamExchange, ChunkedBodyArrivesPieceByPieceWithoutFraming) {
  ScriptedUpstream up([](int, tcp::socket& s, const std::string&) {
    send(s, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n");
    send(s, "7\r\ndata: 1\r\n");
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    send(s, "7\r\ndata: 2\r\n0\r\n\r\n");
  });
  Outcome o = run_exchange(target_for(up.port()));
  EXPECT_FALSE(o.failure);
  EXPECT_EQ(joined(o), "data: 1data: 2");
  EXPECT_GE(o.pieces.size(), 2u);  // the first piece was handed over before the second came
}

TEST(UpstreamExchange, A503IsRetriedWhileNothingWasRelayed) {
  ScriptedUpstream up([](int n, tcp::socket& s, const std::string&) {
    if (n == 0)
      send(s, "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n");
    else
      send(s, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
  });
  Outcome o = run_exchange(target_for(up.port(), /*retries=*/1));
  EXPECT_FALSE(o.failure);
  EXPECT_EQ(o.status, 200);
  EXPECT_EQ(joined(o), "ok");
  EXPECT_EQ(up.connections(), 2);
}

TEST(UpstreamExchange, A503WithoutRetriesLeftIsHandedOver) {
  ScriptedUpstream up([](int, tcp::socket& s, const std::string&) {
    send(s, "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 4\r\n\r\nbusy");
  });
  Outcome o = run_exchange(target_for(up.port(), /*retries=*/0));
  EXPECT_EQ(o.status, 503);
  EXPECT_EQ(joined(o), "busy");
}

TEST(UpstreamExchange, OtherErrorStatusesAreNotRetried) {
  ScriptedUpstream up([](int, tcp::socket& s, const std::string&) {
    send(s, "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n");
  });
  Outcome o = run_exchange(target_for(up.port(), /*retries=*/3));
  EXPECT_EQ(o.status, 500);
  EXPECT_EQ(up.connections(), 1);
}

TEST(UpstreamExchange, ClosedPortIsUnreachableAfterTheRetries) {
  uint16_t port;
  {
    net::io_context ioc;
    tcp::acceptor a(ioc, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
    port = a.local_endpoint().port();
  }
  auto started = std::chrono::steady_clock::now();
  Outcome o = run_exchange(target_for(port, /*retries=*/2));
  ASSERT_TRUE(o.failure);
  EXPECT_EQ(o.failure->kind, UpstreamFailure::Kind::Unreachable);
  EXPECT_EQ(o.status, 0);
  // Two retries with 100 ms and 200 ms backoff.
  EXPECT_GE(std::chrono::steady_clock::now() - started, std::chrono::milliseconds(300));
}

TEST(UpstreamExchange, SilentUpstreamTimesOut) {
  std::promise<void> release;
  auto released = release.get_future().share();
  ScriptedUpstream up([released](int, tcp::socket&, const std::string&) { released.wait(); });
  Outcome o = run_exchange(target_for(up.port(), 0, std::chrono::milliseconds(200)));
  release.set_value();
  ASSERT_TRUE(o.failure);
  EXPECT_EQ(o.failure->kind, UpstreamFailure::Kind::Timeout);
}

TEST(UpstreamExchange, CancelClosesTheConnectionAndSilencesHandlers) {
  std::promise<bool> saw_eof;
  ScriptedUpstream up([&saw_eof](int, tcp::socket& s, const std::string&) {
    send(s, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n");
    send(s, "7\r\ndata: 1\r\n");
    char c;
    boost::system::error_code ec;
    s.read_some(net::buffer(&c, 1), ec);  // blocks until the client closes
    saw_eof.set_value(ec == net::error::eof || ec == net::error::connection_reset);
  });
  net::io_context ioc;
  bool ended = false;
  int pieces = 0;
  std::shared_ptr<UpstreamExchange> ex;
  UpstreamExchange::Handlers h;
  h.on_data = [&](std::string) {
    ++pieces;
    ex->cancel();
  };
  h.on_end = [&](std::optional<UpstreamFailure>) { ended = true; };
  ex = UpstreamExchange::start(net::make_strand(ioc), target_for(up.port()), "/chat/completions",
                               "{}", true, std::move(h));
  ioc.run();
  EXPECT_EQ(pieces, 1);
  EXPECT_FALSE(ended);
  auto f = saw_eof.get_future();
  ASSERT_EQ(f.wait_for(std::chrono::seconds(5)), std::future_status::ready);
  EXPECT_TRUE(f.get());
}

}  // namespace
}  // namespace toolgate::gateway
