#pragma once
// One HTTP/1.1 exchange with an upstream OpenAI-compatible server, over Beast: resolve,
// connect, POST, read the response head, then hand over the body piece by piece as it arrives
// (chunked or not), so SSE can be relayed without waiting for the end.
//
// Retries (UpstreamTarget::retries) happen only while nothing has been handed over: on a
// failed resolve/connect and on a 502/503 head. UpstreamTarget::timeout bounds the connect and
// every wait for upstream bytes (the head, and each gap in the body), not the whole response,
// so a long stream is fine as long as it keeps moving.
//
// Connections: with target->connections set (plain http), the request asks for keep-alive, an
// idle connection of that pool is used when there is one, and after a complete keep-alive
// response the connection goes back (upstream_connection_pool.h). A failed or cancelled
// exchange closes its connection. A pooled connection that fails before any response byte
// (the member closed it while idle) is retried at once on a new connection, outside `retries`.
//
// Every handler runs on `executor` (the session's strand); cancel() must be called there too.
// https upstreams (target->tls set) add a TLS handshake with SNI and certificate + host-name
// verification after the connect; the rest is the same.
#include <boost/asio/any_io_executor.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "gateway/upstream_target.h"

namespace toolgate::gateway {

struct UpstreamFailure {
  enum class Kind {
    Unreachable,  // resolve/connect failed (after the retries)
    Timeout,      // connect or a read took longer than the timeout
    Broken,       // the connection failed after the request was sent, or bad HTTP
  };
  Kind kind = Kind::Broken;
  std::string detail;
};

// TLS for an https upstream: the system's CA certificates plus `ca_file` (PEM) when given,
// peer and host-name verification unless `verify` is false. Throws std::runtime_error naming
// the file when it cannot be read. Built once at start-up and shared by all exchanges.
std::shared_ptr<UpstreamTls> make_upstream_tls(const std::string& ca_file, bool verify);

class UpstreamExchange {
 public:
  struct Handlers {
    std::function<void(int status, std::string content_type)> on_head;
    std::function<void(std::string data)> on_data;  // decoded body bytes (no chunk framing)
    // Last call: nullopt when the body ended normally. Not called after cancel().
    std::function<void(std::optional<UpstreamFailure>)> on_end;
  };

  virtual ~UpstreamExchange() = default;

  // Starts at once. `endpoint` is appended to the base URL's path ("/chat/completions").
  static std::shared_ptr<UpstreamExchange> start(boost::asio::any_io_executor executor,
                                                 std::shared_ptr<const UpstreamTarget> target,
                                                 std::string endpoint, std::string json_body,
                                                 bool stream, Handlers handlers);

  // GET `absolute_path` on the target's host (not under the base URL's path), e.g. /health
  // for an active health check. Same handlers, same timeout and retry rules.
  static std::shared_ptr<UpstreamExchange> start_get(boost::asio::any_io_executor executor,
                                                     std::shared_ptr<const UpstreamTarget> target,
                                                     std::string absolute_path, Handlers handlers);

  // Closes the connection now; no handler runs afterwards (they are released at once).
  virtual void cancel() = 0;
};

}  // namespace toolgate::gateway
