#include "gateway/upstream_client.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <unistd.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <limits>
#include <stdexcept>

#include "gateway/upstream_connection_pool.h"

namespace toolgate::gateway {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;

struct UpstreamTls {
  ssl::context context{ssl::context::tls_client};
  bool verify = true;
};

std::shared_ptr<UpstreamTls> make_upstream_tls(const std::string& ca_file, bool verify) {
  auto tls = std::make_shared<UpstreamTls>();
  tls->verify = verify;
  tls->context.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                           ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                           ssl::context::no_tlsv1_1);
  boost::system::error_code ec;
  tls->context.set_default_verify_paths(ec);  // the system's CA store; fine if it is empty
  if (!ca_file.empty()) {
    tls->context.load_verify_file(ca_file, ec);
    if (ec) throw std::runtime_error("cannot load CA file " + ca_file + ": " + ec.message());
  }
  tls->context.set_verify_mode(verify ? ssl::verify_peer : ssl::verify_none);
  return tls;
}

namespace {

using TlsStream = beast::ssl_stream<beast::tcp_stream>;

class BeastUpstreamExchange final : public UpstreamExchange,
                                    public std::enable_shared_from_this<BeastUpstreamExchange> {
 public:
  BeastUpstreamExchange(net::any_io_executor ex, std::shared_ptr<const UpstreamTarget> target,
                        const std::string& request_target, std::string body, bool stream,
                        Handlers handlers, http::verb method = http::verb::post)
      : ex_(std::move(ex)),
        target_(std::move(target)),
        // Health checks (GET) run on the checker's own io_context and stay one-shot: a probe
        // should prove that the member accepts connections.
        pool_(method == http::verb::post && !target_->tls ? target_->connections : nullptr),
        resolver_(ex_),
        retry_timer_(ex_),
        h_(std::move(handlers)) {
    req_.method(method);
    req_.target(request_target);
    req_.version(11);
    req_.set(http::field::host, target_->url.host_header());
    req_.set(http::field::user_agent, "toolgate/0.1");
    if (method == http::verb::post) req_.set(http::field::content_type, "application/json");
    req_.set(http::field::accept, stream ? "text/event-stream" : "application/json");
    if (!target_->api_key.empty())
      req_.set(http::field::authorization, "Bearer " + target_->api_key);
    // Without a pool, one connection per request. Either way closing the connection is how a
    // client disconnect reaches the upstream (which then stops generating): a cancelled
    // exchange never returns its connection.
    req_.keep_alive(pool_ != nullptr);
    req_.body() = std::move(body);
    req_.prepare_payload();
  }

  void begin() { do_resolve(); }

  void cancel() override {
    if (cancelled_) return;
    cancelled_ = true;
    h_ = {};
    resolver_.cancel();
    retry_timer_.cancel();
    close_stream();
  }

 private:
  void do_resolve() {
    if (target_->tls) {
      tls_stream_.emplace(ex_, target_->tls->context);
    } else {
      stream_.emplace(ex_);
    }
    buffer_.clear();
    parser_.emplace();
    parser_->body_limit(std::numeric_limits<std::uint64_t>::max());  // the job decides
    reused_ = false;
    if (pool_ && !fresh_only_ && take_idle_connection()) return send_request();
    // An IP literal (a replica on 10.0.0.7, 127.0.0.1) needs no resolver: asio's runs
    // getaddrinfo on a thread of its own, a hop that costs more than the rest of a short proxy.
    beast::error_code literal_ec;
    const auto literal = net::ip::make_address(target_->url.host, literal_ec);
    if (!literal_ec) {
      return on_resolve({}, tcp::resolver::results_type::create(
                                tcp::endpoint(literal, target_->url.port), target_->url.host,
                                std::to_string(target_->url.port)));
    }
    resolver_.async_resolve(
        target_->url.host, std::to_string(target_->url.port),
        beast::bind_front_handler(&BeastUpstreamExchange::on_resolve, shared_from_this()));
  }

  void on_resolve(beast::error_code ec, tcp::resolver::results_type results) {
    if (cancelled_) return;
    if (ec)
      return connect_failed(UpstreamFailure::Kind::Unreachable,
                            "cannot resolve " + target_->url.host + ": " + ec.message());
    tcp_layer().expires_after(target_->timeout);
    tcp_layer().async_connect(
        results, beast::bind_front_handler(&BeastUpstreamExchange::on_connect, shared_from_this()));
  }

  void on_connect(beast::error_code ec, const tcp::endpoint& endpoint) {
    if (cancelled_) return;
    if (ec == beast::error::timeout)
      return connect_failed(UpstreamFailure::Kind::Timeout, "connect timed out");
    if (ec) return connect_failed(UpstreamFailure::Kind::Unreachable, ec.message());
    ipv6_ = endpoint.address().is_v6();
    beast::error_code ignored;
    tcp_layer().socket().set_option(tcp::no_delay(true), ignored);
    if (tls_stream_) return start_handshake();
    send_request();
  }

  void start_handshake() {
    const std::string& host = target_->url.host;
    // SNI: servers hosting several names pick the certificate by it (not sent for IP literals).
    beast::error_code ec;
    net::ip::make_address(host, ec);
    if (ec && !SSL_set_tlsext_host_name(tls_stream_->native_handle(), host.c_str()))
      return finish(UpstreamFailure{UpstreamFailure::Kind::Broken, "cannot set TLS server name"});
    if (target_->tls->verify) tls_stream_->set_verify_callback(ssl::host_name_verification(host));
    tcp_layer().expires_after(target_->timeout);
    tls_stream_->async_handshake(
        ssl::stream_base::client,
        beast::bind_front_handler(&BeastUpstreamExchange::on_handshake, shared_from_this()));
  }

  void on_handshake(beast::error_code ec) {
    if (cancelled_) return;
    if (ec == beast::error::timeout)
      return connect_failed(UpstreamFailure::Kind::Timeout, "TLS handshake timed out");
    // A certificate the upstream cannot prove is not retried: it will not change in 100 ms.
    if (ec)
      return finish(UpstreamFailure{UpstreamFailure::Kind::Unreachable,
                                    "TLS handshake with " + target_->url.host +
                                        " failed: " + tls_error_text(ec)});
    send_request();
  }

  static std::string tls_error_text(const beast::error_code& ec) {
    std::string text = ec.message();
    if (ec.category() == net::error::get_ssl_category()) {
      // OpenSSL's reason string ("certificate verify failed") is the useful part.
      if (const char* reason = ERR_reason_error_string(static_cast<unsigned long>(ec.value())))
        text = reason;
    }
    return text;
  }

  void send_request() {
    tcp_layer().expires_after(target_->timeout);
    with_stream([this](auto& s) {
      http::async_write(s, req_,
                        beast::bind_front_handler(&BeastUpstreamExchange::on_write,
                                                  shared_from_this()));
    });
  }

  void on_write(beast::error_code ec, size_t) {
    if (cancelled_) return;
    if (ec && retry_if_stale(ec)) return;
    if (ec) return fail_from(ec, "sending the request failed");
    tcp_layer().expires_after(target_->timeout);
    with_stream([this](auto& s) {
      http::async_read_header(s, buffer_, *parser_,
                              beast::bind_front_handler(&BeastUpstreamExchange::on_header,
                                                        shared_from_this()));
    });
  }

  void on_header(beast::error_code ec, size_t) {
    if (cancelled_) return;
    if (ec && retry_if_stale(ec)) return;
    if (ec) return fail_from(ec, "no response");
    const int status = parser_->get().result_int();
    if ((status == 502 || status == 503) && attempt_ < target_->retries) {
      // The upstream (or a proxy in front of it) is briefly unavailable, and nothing has
      // reached our client yet: try again.
      close_stream();
      return retry_later();
    }
    std::string content_type(parser_->get()[http::field::content_type]);
    if (h_.on_head) h_.on_head(status, std::move(content_type));
    read_more();
  }

  void read_more() {
    if (cancelled_) return;
    if (parser_->is_done()) return finish(std::nullopt);
    tcp_layer().expires_after(target_->timeout);
    with_stream([this](auto& s) {
      http::async_read_some(s, buffer_, *parser_,
                            beast::bind_front_handler(&BeastUpstreamExchange::on_read,
                                                      shared_from_this()));
    });
  }

  void on_read(beast::error_code ec, size_t) {
    if (cancelled_) return;
    // The string body only grows while parsing; taking what is there hands it over as it
    // arrives.
    std::string& body = parser_->get().body();
    if (!body.empty()) {
      std::string data = std::move(body);
      body.clear();
      if (h_.on_data) h_.on_data(std::move(data));
      if (cancelled_) return;  // the handler may have cancelled
    }
    if (ec) return fail_from(ec, "the response broke off");
    read_more();
  }

  void fail_from(beast::error_code ec, const std::string& what) {
    if (ec == beast::error::timeout)
      return finish(UpstreamFailure{UpstreamFailure::Kind::Timeout, what + ": timed out"});
    finish(UpstreamFailure{UpstreamFailure::Kind::Broken, what + ": " + ec.message()});
  }

  void connect_failed(UpstreamFailure::Kind kind, std::string detail) {
    close_stream();
    if (attempt_ < target_->retries) return retry_later();
    finish(UpstreamFailure{kind, std::move(detail)});
  }

  void retry_later() {
    ++attempt_;
    retry_timer_.expires_after(std::chrono::milliseconds(100 * attempt_));
    retry_timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (ec || self->cancelled_) return;
      self->do_resolve();
    });
  }

  // An idle connection of the pool, assigned to this exchange's socket; false when there is
  // none (connect a new one).
  bool take_idle_connection() {
    auto c = pool_->take();
    if (!c) return false;
    beast::error_code ec;
    stream_->socket().assign(c->ipv6 ? tcp::v6() : tcp::v4(), c->fd, ec);
    if (ec) {
      ::close(c->fd);
      return false;
    }
    ipv6_ = c->ipv6;
    reused_ = true;
    return true;
  }

  // A pooled connection the member closed while it sat idle (its keep-alive timeout, a restart)
  // fails on the write or before the first response byte. Nothing reached our client and the
  // member answered nothing, so a new connection is always a safe retry; it does not count as
  // one of target->retries. A timeout is not staleness (the member may be working on the
  // request) and is reported as usual.
  bool retry_if_stale(const beast::error_code& ec) {
    if (!reused_ || ec == beast::error::timeout || parser_->got_some() || buffer_.size() != 0)
      return false;
    close_stream();
    fresh_only_ = true;
    do_resolve();
    return true;
  }

  // After a complete response the connection goes back to the pool when both sides meant to
  // keep it (no `Connection: close`, not HTTP/1.0, not a body delimited by the close) and no
  // stray bytes follow the response.
  bool return_connection() {
    if (!pool_ || !stream_ || !parser_ || !parser_->is_done() || !parser_->keep_alive() ||
        buffer_.size() != 0 || !stream_->socket().is_open())
      return false;
    stream_->expires_never();
    beast::error_code ec;
    const int fd = stream_->socket().release(ec);
    if (ec) return false;
    pool_->give_back({fd, ipv6_});
    return true;
  }

  void finish(std::optional<UpstreamFailure> failure) {
    if (failure || !return_connection()) close_stream();
    Handlers h = std::move(h_);
    h_ = {};
    if (h.on_end) h.on_end(std::move(failure));
  }

  // Closing the socket (no TLS close_notify) is enough, and is what tells the upstream to stop
  // generating.
  void close_stream() {
    if (!stream_ && !tls_stream_) return;
    beast::error_code ignored;
    tcp_layer().socket().shutdown(tcp::socket::shutdown_both, ignored);
    tcp_layer().close();
  }

  beast::tcp_stream& tcp_layer() { return tls_stream_ ? tls_stream_->next_layer() : *stream_; }

  template <class F>
  void with_stream(F&& f) {
    if (tls_stream_) {
      f(*tls_stream_);
    } else {
      f(*stream_);
    }
  }

  net::any_io_executor ex_;
  std::shared_ptr<const UpstreamTarget> target_;
  std::shared_ptr<UpstreamConnectionPool> pool_;  // null: one connection per exchange
  tcp::resolver resolver_;
  net::steady_timer retry_timer_;
  std::optional<beast::tcp_stream> stream_;  // http
  std::optional<TlsStream> tls_stream_;     // https
  beast::flat_buffer buffer_;
  std::optional<http::response_parser<http::string_body>> parser_;
  http::request<http::string_body> req_;
  Handlers h_;
  int attempt_ = 0;
  bool cancelled_ = false;
  bool reused_ = false;      // this attempt runs on a pooled connection
  bool fresh_only_ = false;  // a pooled connection was stale: open new ones from now on
  bool ipv6_ = false;
};

}  // namespace

std::shared_ptr<UpstreamExchange> UpstreamExchange::start(
    boost::asio::any_io_executor executor, std::shared_ptr<const UpstreamTarget> target,
    std::string endpoint, std::string json_body, bool stream, Handlers handlers) {
  const std::string request_target = target->url.target(endpoint);
  auto ex = std::make_shared<BeastUpstreamExchange>(std::move(executor), std::move(target),
                                                    request_target, std::move(json_body), stream,
                                                    std::move(handlers));
  ex->begin();
  return ex;
}

std::shared_ptr<UpstreamExchange> UpstreamExchange::start_get(
    boost::asio::any_io_executor executor, std::shared_ptr<const UpstreamTarget> target,
    std::string absolute_path, Handlers handlers) {
  auto ex = std::make_shared<BeastUpstreamExchange>(std::move(executor), std::move(target),
                                                    absolute_path, std::string(), false,
                                                    std::move(handlers), http::verb::get);
  ex->begin();
  return ex;
}

}  // namespace toolgate::gateway
