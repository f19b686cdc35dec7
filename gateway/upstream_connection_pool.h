#pragma once
// Idle keep-alive connections to one upstream member (plain http), so a proxied request does not
// pay a TCP connect, and the member does not pay an accept, every time.
//
// Connections are kept as bare file descriptors, not as Asio sockets: a socket is tied to the
// executor (a session's strand) and the io_context it was made on, while a pooled connection is
// taken by whichever session comes next, and the pool may outlive the io_context (the catalog
// holding it is destroyed after the server's io_context). An exchange assigns the descriptor to
// a socket of its own (upstream_client.cpp) and releases it back only after a complete response
// with keep-alive semantics.
//
// Bounded both ways: at most `max_idle` connections wait here (a give_back over the cap closes
// the oldest), and one idle longer than `idle_timeout` is closed rather than reused (keep it
// below the member's own keep-alive timeout: uvicorn, behind vLLM, closes after 5 s, as does
// Toolgate). Expired connections are closed when the pool is next used; there is no timer.
//
// take() hands out the most recently returned connection (the least likely to have been closed
// by the member) after checking without blocking that the member has not closed it or sent
// anything unasked. A connection the member closes just after that check fails before any
// response byte; the exchange then retries on a fresh connection (upstream_client.h).
//
// Thread-safe: one mutex around a small vector.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <vector>

namespace toolgate::gateway {

class UpstreamConnectionPool {
 public:
  using Clock = std::chrono::steady_clock;

  struct Connection {
    int fd = -1;
    bool ipv6 = false;  // the protocol to assign the descriptor to a socket with
  };

  UpstreamConnectionPool(size_t max_idle, std::chrono::milliseconds idle_timeout);
  ~UpstreamConnectionPool();  // closes every idle connection
  UpstreamConnectionPool(const UpstreamConnectionPool&) = delete;
  UpstreamConnectionPool& operator=(const UpstreamConnectionPool&) = delete;

  // The most recently returned live connection, or nullopt (open a new one). Closes the expired
  // and dead ones it meets. The caller owns the descriptor.
  std::optional<Connection> take(Clock::time_point now = Clock::now());
  // Takes ownership: keeps the connection for reuse, or closes it (cap 0, or the oldest
  // connection goes when the pool is full).
  void give_back(Connection c, Clock::time_point now = Clock::now());

  size_t idle() const;
  uint64_t reused() const;   // connections handed out by take()
  uint64_t returned() const; // connections accepted by give_back()

 private:
  struct Idle {
    Connection c;
    Clock::time_point since;
  };
  void close_expired(Clock::time_point now);  // with mu_ held

  const size_t max_idle_;
  const std::chrono::milliseconds idle_timeout_;
  mutable std::mutex mu_;
  std::vector<Idle> idle_;  // oldest first
  uint64_t reused_ = 0;
  uint64_t returned_ = 0;
};

// True when the member has neither closed `fd` nor sent anything on it (a non-blocking peek).
bool idle_connection_alive(int fd);

}  // namespace toolgate::gateway
