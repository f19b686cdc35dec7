#pragma once
// One TCP connection, plain or TLS (internal to server.cpp): reads requests with Beast's parser, hands them
// to HttpApi, writes responses and SSE streams, watches for the client going away while a
// generation runs. Everything runs on the connection's strand.
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <unordered_map>

#include "gateway/chat_completion_job.h"
#include "gateway/options.h"

namespace boost::asio::ssl {
class context;
}

namespace toolgate::gateway {

class HttpApi;
class AdmissionControl;
class Metrics;
class ServerToolbox;
class HttpSession;

// Lets engine and worker threads post to a strand only while the io_context still exists: the
// server closes the gate before tearing the context down, so a late engine callback is dropped
// instead of touching freed memory.
class PostGate {
 public:
  template <class Executor, class F>
  void post(const Executor& ex, F&& f) {
    std::shared_lock lock(mu_);
    if (open_) boost::asio::post(ex, std::forward<F>(f));
  }
  void close() {
    std::unique_lock lock(mu_);
    open_ = false;
  }

 private:
  std::shared_mutex mu_;
  bool open_ = true;
};

// Live sessions, so shutdown can reach each of them.
class SessionRegistry {
 public:
  void add(HttpSession* s, std::weak_ptr<HttpSession> w);
  void remove(HttpSession* s);
  std::vector<std::shared_ptr<HttpSession>> snapshot();
  size_t size();
  // Waits until no session is left or the deadline passes; true when none is left.
  bool wait_empty_until(std::chrono::steady_clock::time_point deadline);

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::unordered_map<HttpSession*, std::weak_ptr<HttpSession>> sessions_;
};

struct SessionContext {
  const ServerOptions* options = nullptr;
  HttpApi* api = nullptr;
  AdmissionControl* admission = nullptr;
  Metrics* metrics = nullptr;
  const ServerToolbox* toolbox = nullptr;
  Post post_blocking;
  std::shared_ptr<PostGate> gate;
  SessionRegistry* registry = nullptr;
};

// Creates and starts a session for an accepted socket; with `tls` (server.tls) the session
// speaks HTTPS over it.
void start_http_session(boost::asio::ip::tcp::socket socket, SessionContext& context,
                        boost::asio::ssl::context* tls = nullptr);
// Posts a shutdown to the session's strand (graceful: see server.h).
void shutdown_http_session(const std::shared_ptr<HttpSession>& session);

}  // namespace toolgate::gateway
