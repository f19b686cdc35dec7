// Keep-alive to upstream members: an exchange reuses an idle connection of the member's pool,
// returns it only after a complete keep-alive response, never after a failure or a cancel, and
// a pooled connection the member closed is replaced before anything reaches the client.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>
#include <future>

#include "gateway/upstream_client.h"
#include "gateway/upstream_connection_pool.h"
#include "keep_alive_upstream.h"
#include "scripted_upstream.h"

namespace toolgate::gateway {
namespace {

namespace net = boost::asio;
using tcp = net::ip::tcp;
using testing::http_response;
using testing::KeepAliveUpstream;
using testing::send_text;
using Clock = std::chrono::steady_clock;

struct Outcome {
  int status = 0;
  std::string body;
  std::optional<UpstreamFailure> failure;
};

std::shared_ptr<UpstreamTarget> pooled_target(uint16_t port, size_t max_idle = 4) {
  auto t = std::make_shared<UpstreamTarget>();
  t->base_url = "http://127.0.0.1:" + std::to_string(port) + "/v1";
  t->url = *parse_upstream_url(t->base_url, nullptr);
  t->remote_model = "m";
  t->timeout = std::chrono::milliseconds(5000);
  t->retries = 0;  // the stale-connection retry must not need one
  t->connections = std::make_shared<UpstreamConnectionPool>(max_idle, std::chrono::minutes(1));
  return t;
}

Outcome run_exchange(const std::shared_ptr<UpstreamTarget>& target) {
  net::io_context ioc;
  Outcome out;
  UpstreamExchange::Handlers h;
  h.on_head = [&](int status, std::string) { out.status = status; };
  h.on_data = [&](std::string d) { out.body += d; };
  h.on_end = [&](std::optional<UpstreamFailure> f) { out.failure = std::move(f); };
  auto ex = UpstreamExchange::start(net::make_strand(ioc), target, "/chat/completions", "{}",
                                    false, std::move(h));
  ioc.run();
  return out;
}

bool answer_ok(tcp::socket& s) {
  send_text(s, http_response(200, "application/json", "{}"));
  return true;
}

TEST(UpstreamConnectionReuse, SequentialRequestsShareOneConnection) {
  KeepAliveUpstream up([](int, int, int, tcp::socket& s, const std::string&) {
    return answer_ok(s);
  });
  auto target = pooled_target(up.port());
  for (int i = 0; i < 3; ++i) {
    Outcome o = run_exchange(target);
    EXPECT_FALSE(o.failure);
    EXPECT_EQ(o.status, 200);
    EXPECT_EQ(o.body, "{}");
  }
  EXPECT_EQ(up.requests(), 3);
  EXPECT_EQ(up.connections(), 1);
  EXPECT_EQ(target->connections->reused(), 2u);
  EXPECT_EQ(target->connections->idle(), 1u);
  for (const auto& text : up.texts()) EXPECT_EQ(text.find("Connection: close"), std::string::npos);
}

TEST(UpstreamConnectionReuse, WithoutAPoolEveryRequestOpensAndClosesItsOwn) {
  KeepAliveUpstream up([](int, int, int, tcp::socket& s, const std::string&) {
    return answer_ok(s);
  });
  auto target = pooled_target(up.port());
  target->connections = nullptr;
  for (int i = 0; i < 2; ++i) EXPECT_EQ(run_exchange(target).status, 200);
  EXPECT_EQ(up.connections(), 2);
  for (const auto& text : up.texts()) EXPECT_NE(text.find("Connection: close"), std::string::npos);
}

TEST(UpstreamConnectionReuse, ConnectionCloseFromTheMemberIsNotPooled) {
  KeepAliveUpstream up([](int, int, int, tcp::socket& s, const std::string&) {
    send_text(s, "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{}");
    return true;  // even left open, the member said it would close: not reused
  });
  auto target = pooled_target(up.port());
  EXPECT_EQ(run_exchange(target).status, 200);
  EXPECT_EQ(target->connections->idle(), 0u);
  EXPECT_EQ(run_exchange(target).status, 200);
  EXPECT_EQ(up.connections(), 2);
}

TEST(UpstreamConnectionReuse, ABodyEndedByTheCloseIsNotPooled) {
  KeepAliveUpstream up([](int, int, int, tcp::socket& s, const std::string&) {
    send_text(s, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n{}");
    return false;  // no length, no chunks: the close ends the body
  });
  auto target = pooled_target(up.port());
  Outcome o = run_exchange(target);
  EXPECT_FALSE(o.failure);
  EXPECT_EQ(o.body, "{}");
  EXPECT_EQ(target->connections->idle(), 0u);
}

TEST(UpstreamConnectionReuse, AStaleConnectionIsRetriedOnAFreshOne) {
  // The member drops the second request on the first connection unanswered, as when its
  // keep-alive timeout closes the connection just as the request goes out.
  KeepAliveUpstream up([](int, int connection, int nth, tcp::socket& s, const std::string&) {
    if (connection == 0 && nth == 1) return false;
    return answer_ok(s);
  });
  auto target = pooled_target(up.port());
  EXPECT_EQ(run_exchange(target).status, 200);
  Outcome o = run_exchange(target);  // retries = 0, yet it succeeds
  EXPECT_FALSE(o.failure);
  EXPECT_EQ(o.status, 200);
  EXPECT_EQ(o.body, "{}");
  EXPECT_EQ(up.connections(), 2);
  EXPECT_EQ(up.requests(), 3);
}

TEST(UpstreamConnectionReuse, AReusedConnectionThatBreaksMidResponseIsNotRetried) {
  // Once a response byte has arrived the member has answered; resending could run it twice.
  KeepAliveUpstream up([](int, int connection, int nth, tcp::socket& s, const std::string&) {
    if (connection == 0 && nth == 1) {
      send_text(s, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n{\"a\"");
      return false;
    }
    return answer_ok(s);
  });
  auto target = pooled_target(up.port());
  EXPECT_EQ(run_exchange(target).status, 200);
  Outcome o = run_exchange(target);
  ASSERT_TRUE(o.failure);
  EXPECT_EQ(o.failure->kind, UpstreamFailure::Kind::Broken);
  EXPECT_EQ(up.connections(), 1);
  EXPECT_EQ(target->connections->idle(), 0u);
}

TEST(UpstreamConnectionReuse, AFailedExchangeDoesNotReturnItsConnection) {
  KeepAliveUpstream up([](int request, int, int, tcp::socket& s, const std::string&) {
    if (request == 0) {
      send_text(s, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n{}");  // 8 bytes short
      return false;
    }
    return answer_ok(s);
  });
  auto target = pooled_target(up.port());
  Outcome o = run_exchange(target);
  ASSERT_TRUE(o.failure);
  EXPECT_EQ(target->connections->idle(), 0u);
  EXPECT_EQ(run_exchange(target).status, 200);
  EXPECT_EQ(up.connections(), 2);
}

TEST(UpstreamConnectionReuse, ACancelledExchangeClosesItsConnectionInsteadOfReturningIt) {
  std::promise<bool> saw_close;
  KeepAliveUpstream up([&saw_close](int request, int, int, tcp::socket& s, const std::string&) {
    if (request != 0) return answer_ok(s);
    send_text(s, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                 "Transfer-Encoding: chunked\r\n\r\n7\r\ndata: 1\r\n");
    char c;
    boost::system::error_code ec;
    s.read_some(net::buffer(&c, 1), ec);  // blocks until the client closes
    saw_close.set_value(ec == net::error::eof || ec == net::error::connection_reset);
    return false;
  });
  auto target = pooled_target(up.port());
  {
    net::io_context ioc;
    std::shared_ptr<UpstreamExchange> ex;
    UpstreamExchange::Handlers h;
    h.on_data = [&](std::string) { ex->cancel(); };
    ex = UpstreamExchange::start(net::make_strand(ioc), target, "/chat/completions", "{}", true,
                                 std::move(h));
    ioc.run();
  }
  auto closed = saw_close.get_future();
  ASSERT_EQ(closed.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  EXPECT_TRUE(closed.get());  // the member saw the hang-up: it stops generating
  EXPECT_EQ(target->connections->idle(), 0u);
  EXPECT_EQ(run_exchange(target).status, 200);
  EXPECT_EQ(up.connections(), 2);
}

TEST(UpstreamConnectionReuse, ConcurrentExchangesKeepAtMostTheIdleCap) {
  // Both requests are held until both have arrived, so they need two connections.
  std::promise<void> both;
  auto both_arrived = both.get_future().share();
  std::atomic<int> arrived{0};
  KeepAliveUpstream up([&](int, int, int, tcp::socket& s, const std::string&) {
    if (++arrived == 2) both.set_value();
    both_arrived.wait();
    return answer_ok(s);
  });
  auto target = pooled_target(up.port(), /*max_idle=*/1);
  net::io_context ioc;
  int ok = 0;
  std::vector<std::shared_ptr<UpstreamExchange>> exchanges;
  for (int i = 0; i < 2; ++i) {
    UpstreamExchange::Handlers h;
    h.on_end = [&](std::optional<UpstreamFailure> f) { ok += f ? 0 : 1; };
    exchanges.push_back(UpstreamExchange::start(net::make_strand(ioc), target, "/chat/completions",
                                                "{}", false, std::move(h)));
  }
  ioc.run();
  EXPECT_EQ(ok, 2);
  EXPECT_EQ(up.connections(), 2);
  EXPECT_EQ(target->connections->idle(), 1u);
}

// The pool on its own, with socket pairs standing in for connections.
struct SocketPair {
  int ours = -1, theirs = -1;
  SocketPair() {
    int fds[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
    ours = fds[0];
    theirs = fds[1];
  }
  ~SocketPair() { ::close(theirs); }
  // True when `ours` was closed on our side (the peer reads end-of-file).
  bool closed_by_pool() const {
    char c;
    return ::recv(theirs, &c, 1, MSG_DONTWAIT) == 0;
  }
};

TEST(UpstreamConnectionPool, TakeHandsOutTheMostRecentlyReturned) {
  UpstreamConnectionPool pool(4, std::chrono::seconds(10));
  SocketPair a, b;
  const auto t0 = Clock::now();
  pool.give_back({a.ours, false}, t0);
  pool.give_back({b.ours, false}, t0 + std::chrono::seconds(1));
  auto c = pool.take(t0 + std::chrono::seconds(2));
  ASSERT_TRUE(c);
  EXPECT_EQ(c->fd, b.ours);
  ::close(c->fd);
  EXPECT_EQ(pool.idle(), 1u);
}

TEST(UpstreamConnectionPool, AFullPoolClosesItsOldestConnection) {
  UpstreamConnectionPool pool(2, std::chrono::seconds(10));
  SocketPair a, b, c;
  const auto t0 = Clock::now();
  pool.give_back({a.ours, false}, t0);
  pool.give_back({b.ours, false}, t0);
  pool.give_back({c.ours, false}, t0);
  EXPECT_EQ(pool.idle(), 2u);
  EXPECT_TRUE(a.closed_by_pool());
  EXPECT_FALSE(b.closed_by_pool());
  EXPECT_FALSE(c.closed_by_pool());
}

TEST(UpstreamConnectionPool, AConnectionIdleTooLongIsClosedNotReused) {
  UpstreamConnectionPool pool(4, std::chrono::seconds(4));
  SocketPair a;
  const auto t0 = Clock::now();
  pool.give_back({a.ours, false}, t0);
  EXPECT_FALSE(pool.take(t0 + std::chrono::seconds(4)));
  EXPECT_TRUE(a.closed_by_pool());
  EXPECT_EQ(pool.idle(), 0u);
}

TEST(UpstreamConnectionPool, ConnectionsTheMemberClosedOrWroteOnAreSkipped) {
  UpstreamConnectionPool pool(4, std::chrono::seconds(10));
  SocketPair live, closed, chatty;
  const auto t0 = Clock::now();
  pool.give_back({live.ours, false}, t0);
  pool.give_back({closed.ours, false}, t0);
  pool.give_back({chatty.ours, false}, t0);
  ::shutdown(closed.theirs, SHUT_WR);
  ASSERT_EQ(::send(chatty.theirs, "x", 1, 0), 1);
  auto c = pool.take(t0);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->fd, live.ours);
  ::close(c->fd);
  EXPECT_EQ(pool.idle(), 0u);
  EXPECT_EQ(pool.reused(), 1u);
}

TEST(UpstreamConnectionPool, ACapOfZeroKeepsNothing) {
  UpstreamConnectionPool pool(0, std::chrono::seconds(10));
  SocketPair a;
  pool.give_back({a.ours, false});
  EXPECT_EQ(pool.idle(), 0u);
  EXPECT_TRUE(a.closed_by_pool());
}

}  // namespace
}  // namespace toolgate::gateway
