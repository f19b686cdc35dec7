#include "gateway/http_session.h"

#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <deque>
#include <optional>

#include "gateway/admission_control.h"
#include "gateway/api_error.h"
#include "gateway/beast_request.h"
#include "gateway/chat_response.h"
#include "gateway/http_api.h"
#include "gateway/metrics.h"
#include "gateway/response_sink.h"
#include "gateway/storing_sink.h"
#include "gateway/upstream_chat_job.h"

namespace toolgate::gateway {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;

void SessionRegistry::add(HttpSession* s, std::weak_ptr<HttpSession> w) {
  std::lock_guard lock(mu_);
  sessions_.emplace(s, std::move(w));
}

void SessionRegistry::remove(HttpSession* s) {
  {
    std::lock_guard lock(mu_);
    sessions_.erase(s);
  }
  cv_.notify_all();
}

std::vector<std::shared_ptr<HttpSession>> SessionRegistry::snapshot() {
  std::lock_guard lock(mu_);
  std::vector<std::shared_ptr<HttpSession>> out;
  for (auto& [_, w] : sessions_) {
    if (auto s = w.lock()) out.push_back(std::move(s));
  }
  return out;
}

size_t SessionRegistry::size() {
  std::lock_guard lock(mu_);
  return sessions_.size();
}

bool SessionRegistry::wait_empty_until(Clock::time_point deadline) {
  std::unique_lock lock(mu_);
  return cv_.wait_until(lock, deadline, [&] { return sessions_.empty(); });
}

// What the registry and the server see of a session, whatever its stream.
class HttpSession : public std::enable_shared_from_this<HttpSession> {
 public:
  virtual ~HttpSession() = default;
  virtual void shutdown() = 0;
};

using TlsStream = beast::ssl_stream<beast::tcp_stream>;

// One implementation for plain TCP (beast::tcp_stream) and TLS (TlsStream): the exchange logic
// is the same, only the handshake and the closing differ (`if constexpr (kTls)`). Timeouts and
// cancellation act on the TCP layer under either.
template <class Stream>
class BasicHttpSession : public HttpSession, public ResponseSink {
  static constexpr bool kTls = std::is_same_v<Stream, TlsStream>;

 public:
  BasicHttpSession(tcp::socket socket, SessionContext& ctx) requires(!kTls)
      : stream_(std::move(socket)), ctx_(ctx) {}
  BasicHttpSession(tcp::socket socket, SessionContext& ctx, ssl::context& tls) requires kTls
      : stream_(std::move(socket), tls),
        ctx_(ctx) {}

  ~BasicHttpSession() override { ctx_.registry->remove(this); }

  void run() {
    ctx_.registry->add(this, weak_from_this());
    net::dispatch(stream_.get_executor(), [self = shared_self()] {
      if constexpr (kTls) {
        self->sniff_tls();
      } else {
        self->do_read();
      }
    });
  }

  void shutdown() override {
    net::post(stream_.get_executor(), [self = shared_self()] { self->on_shutdown(); });
  }

  // ---- ResponseSink (called by the job, on the strand) -----------------------------------

  void send_response(HttpResponse response) override { respond(std::move(response)); }

  void begin_stream(HttpResponse head) override {
    add_common_headers(head);
    status_ = head.status;
    count_status();
    enqueue(serialize_stream_head(head, keep_alive()));
  }

  void stream_data(std::string data) override { enqueue(chunk_frame(data)); }

  void end_stream() override {
    enqueue(std::string(last_chunk_frame()));
    exchange_done_ = true;
    if (!writing_) on_exchange_written();
  }

 private:
  std::shared_ptr<BasicHttpSession> shared_self() {
    return std::static_pointer_cast<BasicHttpSession>(shared_from_this());
  }
  beast::tcp_stream& tcp_layer() { return beast::get_lowest_layer(stream_); }

  // ---- TLS handshake ---------------------------------------------------------------------

  // A TLS client speaks first with a handshake record (content type 22). Anything else is most
  // likely plain HTTP sent to the HTTPS port: it gets a plain-text 400 that says so (as nginx
  // does) instead of a handshake failure the client cannot explain.
  void sniff_tls() {
    tcp_layer().expires_after(ctx_.options->header_timeout);
    reading_ = true;
    tcp_layer().async_read_some(
        buffer_.prepare(4096), [self = shared_self()](beast::error_code ec, size_t n) {
          self->reading_ = false;
          if (ec) return self->close();
          self->buffer_.commit(n);
          auto first = static_cast<const unsigned char*>(self->buffer_.data().data())[0];
          if (first != 22) return self->refuse_plain_http();
          self->handshake();
        });
  }

  void handshake() {
    if constexpr (kTls) {
      reading_ = true;
      stream_.async_handshake(ssl::stream_base::server, buffer_.data(),
                              [self = shared_self()](beast::error_code ec, size_t used) {
                                self->reading_ = false;
                                if (ec) {
                                  spdlog::debug("TLS handshake failed: {}", ec.message());
                                  return self->close();
                                }
                                self->buffer_.consume(used);
                                self->do_read();
                              });
    }
  }

  void refuse_plain_http() {
    plain_refusal_ = true;
    keep_alive_ = false;
    HttpResponse r =
        ApiError::invalid_request("This port speaks HTTPS: a plain HTTP request was sent to it.")
            .to_response();
    status_ = r.status;
    count_status();
    auto data = std::make_shared<std::string>(serialize_response(r, false));
    writing_ = true;
    tcp_layer().expires_after(ctx_.options->write_timeout);
    net::async_write(tcp_layer(), net::buffer(*data),
                     [self = shared_self(), data](beast::error_code ec, size_t) {
                       self->writing_ = false;
                       if (ec) return self->close();
                       self->close_gracefully();
                     });
  }

  // ---- reading a request -----------------------------------------------------------------

  void do_read() {
    if (closed_) return;
    reset_exchange();
    if (shutting_down_) return close();
    parser_.emplace();
    parser_->body_limit(ctx_.options->max_body_bytes);
    parser_->header_limit(ctx_.options->max_header_bytes);
    // A fresh connection (or one that already sent bytes) must deliver its head quickly; an
    // idle keep-alive connection may wait longer for its next request.
    bool fresh = first_request_ || buffer_.size() > 0;
    tcp_layer().expires_after(fresh ? ctx_.options->header_timeout : ctx_.options->idle_timeout);
    reading_ = true;
    http::async_read_header(stream_, buffer_, *parser_,
                            beast::bind_front_handler(&BasicHttpSession::on_header, shared_self()));
  }

  void on_header(beast::error_code ec, size_t) {
    reading_ = false;
    first_request_ = false;
    if (ec) return on_read_error(ec);
    arrival_ = Clock::now();
    auto& msg = parser_->get();
    if (std::distance(msg.begin(), msg.end()) > ctx_.options->max_header_count) {
      ApiError err =
          ApiError::invalid_request("Too many request header fields (at most " +
                                    std::to_string(ctx_.options->max_header_count) + ").");
      err.status = 431;
      return reject_and_close(err);
    }
    if (beast::iequals(msg[http::field::expect], "100-continue")) {
      // curl sends this for bodies over 1 KiB and waits a second without it.
      continue_sent_ = true;
      enqueue_raw("HTTP/1.1 100 Continue\r\n\r\n");
    }
    tcp_layer().expires_after(ctx_.options->idle_timeout);
    reading_ = true;
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&BasicHttpSession::on_body, shared_self()));
  }

  void on_read_error(beast::error_code ec) {
    if (ec == http::error::body_limit) {
      return reject_and_close(ApiError::body_too_large(ctx_.options->max_body_bytes));
    }
    if (ec == http::error::header_limit) {
      ApiError err = ApiError::invalid_request("Request headers are too large.");
      err.status = 431;
      return reject_and_close(err);
    }
    if (ec.category() == http::make_error_code(http::error::end_of_stream).category() &&
        ec != http::error::end_of_stream && ec != http::error::partial_message) {
      return reject_and_close(ApiError::invalid_request("Malformed HTTP request: " + ec.message()));
    }
    // end_of_stream, timeout, reset: the peer is gone or too slow; nothing to answer.
    close();
  }

  void on_body(beast::error_code ec, size_t) {
    reading_ = false;
    if (ec) return on_read_error(ec);
    if (!arrival_set()) arrival_ = Clock::now();
    auto msg = parser_->release();
    HttpRequest req = to_http_request(msg);
    keep_alive_ = msg.keep_alive();
    method_ = req.method;
    path_ = std::string(req.path());

    ApiOutcome outcome = ctx_.api->handle(req);
    request_id_ = outcome.request_id;
    common_headers_ = std::move(outcome.common_headers);
    model_ = outcome.model;
    if (auto* r = std::get_if<HttpResponse>(&outcome.action)) {
      if (req.method == "HEAD") r->body.clear();
      return respond(std::move(*r));
    }
    if (auto* deferred = std::get_if<DeferredResponse>(&outcome.action))
      return run_deferred(std::move(*deferred), req.method == "HEAD");
    start_chat(std::move(std::get<ChatCompletionStart>(outcome.action)));
  }

  // Store reads and writes block on SQLite: they run on a worker thread, and the response
  // comes back to the strand.
  void run_deferred(DeferredResponse deferred, bool head) {
    // The task keeps the session alive (nothing else does while no socket operation is
    // pending), as a job does through its sink.
    auto gate = ctx_.gate;
    auto ex = stream_.get_executor();
    auto post = deferred.post ? std::move(deferred.post) : ctx_.post_blocking;
    post([run = std::move(deferred.run), gate, ex, self = shared_self(), head] {
      HttpResponse r;
      try {
        r = run();
      } catch (const std::exception& e) {
        r = ApiError::internal(std::string("internal error: ") + e.what()).to_response();
      }
      if (head) r.body.clear();
      gate->post(ex, [self, r = std::move(r)]() mutable { self->respond(std::move(r)); });
    });
  }

  bool arrival_set() const { return arrival_ != Clock::time_point{}; }

  // ---- chat completions ------------------------------------------------------------------

  void start_chat(ChatCompletionStart start) {
    auto pending = std::make_shared<ChatCompletionStart>(std::move(start));
    auto holder = std::make_shared<AdmissionControl::TicketPtr>();
    std::weak_ptr<BasicHttpSession> weak = shared_self();
    auto gate = ctx_.gate;
    auto ex = stream_.get_executor();
    auto* admission = ctx_.admission;
    // `start` only posts, so the handler runs after `holder` is filled in below.
    ticket_ = ctx_.admission->enter([weak, gate, ex, pending, holder, admission] {
      gate->post(ex, [weak, pending, holder, admission] {
        auto self = weak.lock();
        if (!self) return admission->leave(*holder);
        self->run_job(std::move(*pending), *holder);
      });
    });
    *holder = ticket_;
    if (!ticket_) {
      return respond(ApiError::overloaded(ctx_.options->retry_after_seconds).to_response());
    }
    // While the request waits and generates, a read is kept pending so a client that hangs
    // up is noticed at once and its generation cancelled.
    start_monitor();
  }

  void run_job(ChatCompletionStart start, AdmissionControl::TicketPtr ticket) {
    if (closed_ || exchange_done_ || ticket != ticket_) {
      // The client left (or the exchange was ended by shutdown) while waiting for its slot.
      ctx_.admission->leave(ticket);
      return;
    }
    JobEnvironment env;
    auto gate = ctx_.gate;
    auto ex = stream_.get_executor();
    env.post = [gate, ex](std::function<void()> f) { gate->post(ex, std::move(f)); };
    env.post_blocking = ctx_.post_blocking;
    env.toolbox = ctx_.toolbox;
    env.metrics = ctx_.metrics;
    env.max_tokens_per_request = ctx_.options->max_tokens_per_request;
    env.max_schema_bytes = ctx_.options->max_schema_bytes;
    env.max_schema_depth = ctx_.options->max_schema_depth;
    env.max_tool_rounds = ctx_.options->max_tool_rounds;
    env.tool_timeout = ctx_.options->tool_timeout;
    env.retry_after_seconds = ctx_.options->retry_after_seconds;

    auto* admission = ctx_.admission;
    std::string log_prefix = request_id_ + " " + method_ + " " + path_;
    bool log = ctx_.options->access_log;
    // Named keys are logged by name (key_policy.h), never by the key.
    if (!start.key_name.empty()) log_prefix += " key=" + start.key_name;
    auto on_done = [admission, ticket, log_prefix, log,
                    on_usage = std::move(start.on_usage)](const JobSummary& s) {
      admission->leave(ticket);
      if (on_usage) on_usage(s.prompt_tokens, s.completion_tokens);
      if (!log) return;
      spdlog::info(
          "{} model={} status={} prompt_tokens={} completion_tokens={} ttft_ms={:.1f} "
          "total_ms={:.1f}",
          log_prefix, s.model, s.status, s.prompt_tokens, s.completion_tokens, s.ttft_ms,
          s.total_ms);
    };
    job_logged_ = true;
    std::shared_ptr<ResponseSink> sink = shared_self();
    if (start.store && ctx_.options->store) {
      sink = std::make_shared<StoringSink>(std::move(sink), std::move(*start.store),
                                           ctx_.options->store, env.post);
    }
    if (start.upstream) {
      job_ = make_upstream_chat_job(std::move(*start.upstream), std::move(start.catalog),
                                    start.model, std::move(env), std::move(sink),
                                    std::move(on_done), arrival_, stream_.get_executor());
    } else {
      // Another API's translator (Ollama, completions) turns the chat output into its shape.
      if (start.wrap_sink) sink = start.wrap_sink(std::move(sink));
      job_ =
          ChatCompletionJob::create(std::move(start.request), std::move(start.catalog), start.model,
                                    std::move(env), std::move(sink), std::move(on_done), arrival_);
    }
    job_->start();
    if (auto limit = ctx_.options->request_timeout; limit.count() > 0) {
      request_timer_.emplace(stream_.get_executor(), limit);
      std::weak_ptr<ChatCompletionJob> weak_job = job_;
      request_timer_->async_wait([self = shared_self(), weak_job, limit](beast::error_code ec) {
        if (ec) return;
        auto job = weak_job.lock();
        if (job && job == self->job_) job->time_out(limit);
      });
    }
  }

  void cancel_request_timer() {
    if (request_timer_) request_timer_->cancel();
    request_timer_.reset();
  }

  // ---- writing ---------------------------------------------------------------------------

  void add_common_headers(HttpResponse& r) const {
    for (const auto& [k, v] : common_headers_) r.set_header(k, v);
  }

  void respond(HttpResponse r) {
    if (exchange_done_) return;
    add_common_headers(r);
    status_ = r.status;
    count_status();
    if (shutting_down_) keep_alive_ = false;
    enqueue(serialize_response(r, keep_alive()));
    exchange_done_ = true;
    if (!writing_) on_exchange_written();
  }

  void count_status() {
    if (ctx_.metrics) ctx_.metrics->count_http_response(status_);
  }

  bool keep_alive() const { return keep_alive_ && !shutting_down_; }

  void enqueue(std::string data) {
    if (closed_ || data.empty()) return;
    out_.push_back(std::move(data));
    if (!writing_) do_write();
  }

  void enqueue_raw(std::string data) { enqueue(std::move(data)); }

  void do_write() {
    // Coalesce everything queued into one write: a fast model produces many tiny chunks.
    auto data = std::make_shared<std::string>();
    for (auto& s : out_) *data += s;
    out_.clear();
    writing_ = true;
    tcp_layer().expires_after(ctx_.options->write_timeout);
    net::async_write(
        stream_, net::buffer(*data),
        [self = shared_self(), data](beast::error_code ec, size_t) { self->on_write(ec); });
  }

  void on_write(beast::error_code ec) {
    writing_ = false;
    if (ec) return client_gone();
    if (!out_.empty()) return do_write();
    if (exchange_done_) on_exchange_written();
  }

  // The whole response is on the wire (or queued behind a write in flight).
  void on_exchange_written() {
    if (writing_ || !out_.empty() || closed_) return;
    if (!job_logged_ && ctx_.options->access_log) {
      spdlog::info("{} {} {} model={} status={} total_ms={:.1f}", request_id_, method_, path_,
                   model_.empty() ? "-" : model_, status_,
                   std::chrono::duration<double, std::milli>(Clock::now() - arrival_).count());
    }
    job_.reset();  // the job keeps itself alive until the engine is done with it
    cancel_request_timer();
    AfterMonitor next = keep_alive() ? AfterMonitor::Read : AfterMonitor::CloseGracefully;
    if (monitoring_) {
      // The disconnect watch is still pending (one read at a time): cancel it, and let its
      // handler go on.
      after_monitor_ = next;
      beast::error_code ignored;
      tcp_layer().socket().cancel(ignored);
      return;
    }
    next == AfterMonitor::Read ? do_read() : close_gracefully();
  }

  // ---- disconnect watch ------------------------------------------------------------------

  void start_monitor() {
    if (monitoring_ || closed_) return;
    tcp_layer().expires_never();
    monitoring_ = true;
    stream_.async_read_some(
        buffer_.prepare(4096),
        beast::bind_front_handler(&BasicHttpSession::on_monitor, shared_self()));
  }

  void on_monitor(beast::error_code ec, size_t n) {
    monitoring_ = false;
    AfterMonitor next = std::exchange(after_monitor_, AfterMonitor::Nothing);
    if (!ec) {
      // A pipelined request: keep its bytes for the next read. The watch is not re-armed
      // (a write error still reveals a vanished client).
      buffer_.commit(n);
    } else if (ec != net::error::operation_aborted) {
      if (!exchange_done_) return client_gone();
      // The client hung up right after its response: nothing more to do.
      if (!writing_ && out_.empty()) return close();
    }
    if (next == AfterMonitor::Read) do_read();
    if (next == AfterMonitor::CloseGracefully) close_gracefully();
  }

  void client_gone() {
    if (closed_) return;
    if (job_) {
      job_->abandon();
      job_.reset();
    } else if (ticket_ && !exchange_done_) {
      ctx_.admission->leave(ticket_);  // still waiting for a slot
      if (ctx_.metrics) ctx_.metrics->count_client_disconnect();
    }
    close();
  }

  // ---- shutdown and close ----------------------------------------------------------------

  void on_shutdown() {
    if (shutting_down_ || closed_) return;
    shutting_down_ = true;
    if (job_) return job_->shutdown();  // ends the response; the connection closes after it
    if (ticket_ && !exchange_done_) {
      ctx_.admission->leave(ticket_);
      return respond(
          ApiError::unavailable("The server is shutting down.", ctx_.options->retry_after_seconds)
              .to_response());
    }
    if (reading_) return close();  // idle keep-alive connection
    // Otherwise a plain response is being written; keep_alive() is now false, so the
    // connection closes once it is out.
  }

  void reject_and_close(const ApiError& err) {
    keep_alive_ = false;
    if (request_id_.empty()) request_id_ = make_request_id();
    common_headers_ = {{"x-request-id", request_id_}};
    HttpResponse r = err.to_response();
    status_ = r.status;
    count_status();
    spdlog::info("- {} {} status={} ({})", method_.empty() ? "-" : method_,
                 path_.empty() ? "-" : path_, r.status, err.message);
    enqueue(serialize_response(r, false));
    exchange_done_ = true;
    if (!writing_) on_exchange_written();
  }

  // Half-closes, then drains what the client still sends for a moment: closing with unread
  // bytes makes the kernel send RST, and the client could lose our response (e.g. a 413).
  void close_gracefully() {
    if (closed_) return;
    // Shutting down: the response is complete, nobody is sending us a body; do not linger.
    if (shutting_down_) return close();
    if constexpr (kTls) {
      if (!plain_refusal_) {
        // close_notify, then wait (briefly) for the client's.
        tcp_layer().expires_after(std::chrono::seconds(2));
        return stream_.async_shutdown([self = shared_self()](beast::error_code) { self->close(); });
      }
    }
    beast::error_code ec;
    tcp_layer().socket().shutdown(tcp::socket::shutdown_send, ec);
    if (ec) return close();
    drain_budget_ = 8 << 20;
    tcp_layer().expires_after(std::chrono::seconds(2));
    drain();
  }

  // Raw TCP reads: what is left is discarded unread (under TLS only after a plain-HTTP refusal).
  void drain() {
    tcp_layer().async_read_some(net::buffer(drain_buf_),
                                [self = shared_self()](beast::error_code ec, size_t n) {
                                  if (ec || n >= self->drain_budget_) return self->close();
                                  self->drain_budget_ -= n;
                                  self->drain();
                                });
  }

  void close() {
    if (closed_) return;
    closed_ = true;
    cancel_request_timer();
    beast::error_code ec;
    tcp_layer().socket().shutdown(tcp::socket::shutdown_both, ec);
    tcp_layer().close();
  }

  void reset_exchange() {
    exchange_done_ = false;
    ticket_.reset();
    job_.reset();
    job_logged_ = false;
    continue_sent_ = false;
    status_ = 0;
    request_id_.clear();
    common_headers_.clear();
    model_.clear();
    method_.clear();
    path_.clear();
    arrival_ = {};
  }

  Stream stream_;
  beast::flat_buffer buffer_;
  SessionContext& ctx_;
  std::optional<http::request_parser<http::string_body>> parser_;

  std::deque<std::string> out_;
  bool writing_ = false;
  bool reading_ = false;
  bool monitoring_ = false;
  enum class AfterMonitor { Nothing, Read, CloseGracefully };
  AfterMonitor after_monitor_ = AfterMonitor::Nothing;
  bool closed_ = false;
  bool shutting_down_ = false;
  bool first_request_ = true;
  bool plain_refusal_ = false;  // TLS port, plain HTTP client: the 400 went out unencrypted
  size_t drain_budget_ = 0;
  std::array<char, 16384> drain_buf_{};

  // The exchange in progress.
  bool exchange_done_ = false;
  bool keep_alive_ = true;
  bool job_logged_ = false;
  bool continue_sent_ = false;
  int status_ = 0;
  std::string request_id_;
  std::string method_;
  std::string path_;
  std::string model_;
  HttpHeaders common_headers_;
  Clock::time_point arrival_{};
  AdmissionControl::TicketPtr ticket_;
  std::shared_ptr<ChatCompletionJob> job_;
  std::optional<net::steady_timer> request_timer_;
};

void start_http_session(tcp::socket socket, SessionContext& context, ssl::context* tls) {
  beast::error_code ec;
  socket.set_option(tcp::no_delay(true), ec);  // SSE chunks must not wait for Nagle
  if (tls) {
    std::make_shared<BasicHttpSession<TlsStream>>(std::move(socket), context, *tls)->run();
  } else {
    std::make_shared<BasicHttpSession<beast::tcp_stream>>(std::move(socket), context)->run();
  }
}

void shutdown_http_session(const std::shared_ptr<HttpSession>& session) { session->shutdown(); }

}  // namespace toolgate::gateway
