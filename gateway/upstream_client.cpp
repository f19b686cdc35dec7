#include "gateway/upstream_client.h"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <limits>

namespace toolgate::gateway {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

class BeastUpstreamExchange final : public UpstreamExchange,
                                    public std::enable_shared_from_this<BeastUpstreamExchange> {
 public:
  BeastUpstreamExchange(net::any_io_executor ex, std::shared_ptr<const UpstreamTarget> target,
                        const std::string& endpoint, std::string body, bool stream,
                        Handlers handlers)
      : ex_(std::move(ex)),
        target_(std::move(target)),
        resolver_(ex_),
        retry_timer_(ex_),
        h_(std::move(handlers)) {
    req_.method(http::verb::post);
    req_.target(target_->url.target(endpoint));
    req_.version(11);
    req_.set(http::field::host, target_->url.host_header());
    req_.set(http::field::user_agent, "toolgate/0.1");
    req_.set(http::field::content_type, "application/json");
    req_.set(http::field::accept, stream ? "text/event-stream" : "application/json");
    if (!target_->api_key.empty())
      req_.set(http::field::authorization, "Bearer " + target_->api_key);
    // One connection per request: no pool to keep healthy, and closing it is how a client
    // disconnect reaches the upstream (which then stops generating).
    req_.keep_alive(false);
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
    stream_.emplace(ex_);
    buffer_.clear();
    parser_.emplace();
    parser_->body_limit(std::numeric_limits<std::uint64_t>::max());  // the job decides
    resolver_.async_resolve(
        target_->url.host, std::to_string(target_->url.port),
        beast::bind_front_handler(&BeastUpstreamExchange::on_resolve, shared_from_this()));
  }

  void on_resolve(beast::error_code ec, tcp::resolver::results_type results) {
    if (cancelled_) return;
    if (ec)
      return connect_failed(UpstreamFailure::Kind::Unreachable,
                            "cannot resolve " + target_->url.host + ": " + ec.message());
    stream_->expires_after(target_->timeout);
    stream_->async_connect(
        results, beast::bind_front_handler(&BeastUpstreamExchange::on_connect, shared_from_this()));
  }

  void on_connect(beast::error_code ec, const tcp::endpoint&) {
    if (cancelled_) return;
    if (ec == beast::error::timeout)
      return connect_failed(UpstreamFailure::Kind::Timeout, "connect timed out");
    if (ec) return connect_failed(UpstreamFailure::Kind::Unreachable, ec.message());
    beast::error_code ignored;
    stream_->socket().set_option(tcp::no_delay(true), ignored);
    stream_->expires_after(target_->timeout);
    http::async_write(*stream_, req_,
                      beast::bind_front_handler(&BeastUpstreamExchange::on_write,
                                                shared_from_this()));
  }

  void on_write(beast::error_code ec, size_t) {
    if (cancelled_) return;
    if (ec) return fail_from(ec, "sending the request failed");
    stream_->expires_after(target_->timeout);
    http::async_read_header(*stream_, buffer_, *parser_,
                            beast::bind_front_handler(&BeastUpstreamExchange::on_header,
                                                      shared_from_this()));
  }

  void on_header(beast::error_code ec, size_t) {
    if (cancelled_) return;
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
    stream_->expires_after(target_->timeout);
    http::async_read_some(*stream_, buffer_, *parser_,
                          beast::bind_front_handler(&BeastUpstreamExchange::on_read,
                                                    shared_from_this()));
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

  void finish(std::optional<UpstreamFailure> failure) {
    close_stream();
    Handlers h = std::move(h_);
    h_ = {};
    if (h.on_end) h.on_end(std::move(failure));
  }

  void close_stream() {
    if (!stream_) return;
    beast::error_code ignored;
    stream_->socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_->close();
  }

  net::any_io_executor ex_;
  std::shared_ptr<const UpstreamTarget> target_;
  tcp::resolver resolver_;
  net::steady_timer retry_timer_;
  std::optional<beast::tcp_stream> stream_;
  beast::flat_buffer buffer_;
  std::optional<http::response_parser<http::string_body>> parser_;
  http::request<http::string_body> req_;
  Handlers h_;
  int attempt_ = 0;
  bool cancelled_ = false;
};

}  // namespace

std::shared_ptr<UpstreamExchange> UpstreamExchange::start(
    boost::asio::any_io_executor executor, std::shared_ptr<const UpstreamTarget> target,
    std::string endpoint, std::string json_body, bool stream, Handlers handlers) {
  auto ex = std::make_shared<BeastUpstreamExchange>(std::move(executor), std::move(target),
                                                    endpoint, std::move(json_body), stream,
                                                    std::move(handlers));
  ex->begin();
  return ex;
}

}  // namespace toolgate::gateway
