#include "gateway/server.h"

#include <spdlog/spdlog.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <condition_variable>
#include <future>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "gateway/admission_control.h"
#include "gateway/http_api.h"
#include "gateway/http_session.h"
#include "gateway/key_policy.h"
#include "gateway/metrics.h"
#include "gateway/model_catalog.h"
#include "gateway/server_tls.h"

namespace toolgate::gateway {

namespace net = boost::asio;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;

// Member order matters: the io_context is destroyed before the state its sessions point at.
struct Server::Impl {
  ServerOptions options;
  Metrics metrics;
  AdmissionControl admission;
  HttpApi api;
  const ServerToolbox* toolbox;
  SessionRegistry registry;
  std::shared_ptr<PostGate> gate = std::make_shared<PostGate>();
  net::thread_pool workers;
  // Live reloads, one at a time, on a thread of their own: loading a model takes seconds, and
  // neither an I/O thread nor a prompt-rendering worker may wait that long.
  net::thread_pool reloads{1};
  SessionContext context;
  std::unique_ptr<net::ssl::context> tls;  // set by start() when options.tls

  net::io_context ioc;
  tcp::acceptor acceptor{net::make_strand(ioc)};
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work;
  std::vector<std::thread> threads;
  uint16_t bound_port = 0;

  std::mutex mu;
  std::condition_variable cv;
  bool started = false;
  bool stop_requested = false;
  bool stopped = false;
  std::function<std::vector<std::string>()> reload;  // see set_reload_handler
  std::function<void()> arm_hangup;

  Impl(ServerOptions opts, std::vector<ServedModel> models, const ServerToolbox* tb)
      : options(std::move(opts)),
        admission(options.max_concurrent_requests, options.max_queue),
        api(ApiKeyAuth(options.api_keys, options.key_policies), CorsPolicy(options.cors_origins), &metrics, &admission),
        toolbox(tb),
        workers(static_cast<size_t>(std::max(1, options.worker_threads))) {
    if (!models.empty()) api.publish(std::make_shared<ModelCatalog>(std::move(models)));
    api.set_store(options.store);
    api.set_web_ui(options.web_ui);
    api.set_metrics_auth(options.metrics_auth);
    context.options = &options;
    context.api = &api;
    context.admission = &admission;
    context.metrics = &metrics;
    context.toolbox = toolbox;
    context.gate = gate;
    context.registry = &registry;
    auto ex = workers.get_executor();
    context.post_blocking = [ex](std::function<void()> f) { net::post(ex, std::move(f)); };
  }

  void do_accept() {
    acceptor.async_accept(net::make_strand(ioc),
                          [this](boost::system::error_code ec, tcp::socket socket) {
                            if (ec == net::error::operation_aborted || !acceptor.is_open()) return;
                            if (ec) {
                              // EMFILE and friends: back off instead of spinning on the error.
                              spdlog::warn("accept failed: {}", ec.message());
                              auto timer = std::make_shared<net::steady_timer>(
                                  acceptor.get_executor(), std::chrono::milliseconds(100));
                              timer->async_wait([this, timer](boost::system::error_code) {
                                if (acceptor.is_open()) do_accept();
                              });
                              return;
                            }
                            start_http_session(std::move(socket), context, tls.get());
                            do_accept();
                          });
  }
};

Server::Server(ServerOptions options, std::vector<ServedModel> models, const ServerToolbox* toolbox)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(models), toolbox)) {}

Server::~Server() {
  try {
    stop();
  } catch (const std::exception& e) {
    spdlog::error("server shutdown: {}", e.what());
  }
  impl_->gate->close();
}

void Server::start() {
  auto& s = *impl_;
  {
    std::lock_guard lock(s.mu);
    if (s.started) return;
    s.started = true;
  }
  if (s.options.tls) s.tls = make_server_tls_context(*s.options.tls);
  boost::system::error_code ec;
  auto address = net::ip::make_address(s.options.host, ec);
  if (ec) throw std::runtime_error("invalid listen address '" + s.options.host + "'");
  tcp::endpoint endpoint(address, s.options.port);
  s.acceptor.open(endpoint.protocol(), ec);
  if (!ec) s.acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) s.acceptor.bind(endpoint, ec);
  if (!ec) s.acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec)
    throw std::runtime_error("cannot listen on " + s.options.host + ":" +
                             std::to_string(s.options.port) + ": " + ec.message());
  s.bound_port = s.acceptor.local_endpoint().port();
  s.work.emplace(s.ioc.get_executor());
  s.do_accept();
  int n = std::max(1, s.options.io_threads);
  for (int i = 0; i < n; ++i) s.threads.emplace_back([&s] { s.ioc.run(); });
  spdlog::info("listening on {}://{}:{} ({} I/O threads)", s.tls ? "https" : "http", s.options.host,
               s.bound_port, n);
}

void Server::run() {
  start();
  auto& s = *impl_;
  std::optional<net::signal_set> signals;
  std::optional<net::signal_set> hangup;  // SIGHUP: reload the config
  if (s.options.handle_signals && s.reload) {
    hangup.emplace(s.ioc, SIGHUP);
    // Re-armed after each signal; cancelled (and so never called again) before run() returns.
    s.arm_hangup = [this, &hangup] {
      hangup->async_wait([this](boost::system::error_code ec, int) {
        if (ec) return;
        spdlog::info("SIGHUP received: reloading the config");
        // On the reload thread, as POST /admin/reload: a reload may load models for seconds.
        net::post(impl_->reloads.get_executor(), [reload = impl_->reload] { reload(); });
        impl_->arm_hangup();
      });
    };
    s.arm_hangup();
  }
  if (s.options.handle_signals) {
    signals.emplace(s.ioc, SIGINT, SIGTERM);
    signals->async_wait([this](boost::system::error_code ec, int sig) {
      if (ec) return;
      spdlog::info("signal {} received: shutting down", sig);
      request_stop();
    });
  }
  {
    std::unique_lock lock(s.mu);
    s.cv.wait(lock, [&] { return s.stop_requested || s.stopped; });
  }
  if (signals) {
    boost::system::error_code ignored;
    signals->cancel(ignored);
  }
  if (hangup) {
    boost::system::error_code ignored;
    hangup->cancel(ignored);
  }
  stop();
}

void Server::set_reload_handler(std::function<std::vector<std::string>()> reload) {
  impl_->reload = reload;
  auto ex = impl_->reloads.get_executor();
  impl_->api.set_reload_handler(std::move(reload),
                                [ex](std::function<void()> f) { net::post(ex, std::move(f)); });
}

void Server::replace_keys(std::vector<std::string> api_keys, std::shared_ptr<KeyPolicies> named) {
  if (auto old = impl_->api.auth().policies(); old && named) named->carry_over_from(*old);
  impl_->api.auth().replace(std::move(api_keys), std::move(named));
}

void Server::request_stop() {
  {
    std::lock_guard lock(impl_->mu);
    impl_->stop_requested = true;
  }
  impl_->cv.notify_all();
}

void Server::stop() {
  auto& s = *impl_;
  {
    std::lock_guard lock(s.mu);
    if (s.stopped) return;
    s.stopped = true;
    s.stop_requested = true;
  }
  s.cv.notify_all();
  if (s.threads.empty()) return;  // never started

  // 1. No new connections. Waited for, so no session is accepted after the snapshot below.
  std::promise<void> closed;
  net::post(s.acceptor.get_executor(), [&s, &closed] {
    boost::system::error_code ignored;
    s.acceptor.close(ignored);
    closed.set_value();
  });
  closed.get_future().wait();
  // 2. Every connection winds down: generations cancelled, streams ended, idle ones closed.
  for (auto& session : s.registry.snapshot()) shutdown_http_session(session);
  // 3. Give them the grace period, then cut what is left.
  auto deadline = Clock::now() + s.options.shutdown_grace;
  if (!s.registry.wait_empty_until(deadline))
    spdlog::warn("{} connection(s) still open after the shutdown grace period; closing them",
                 s.registry.size());
  s.work.reset();
  s.ioc.stop();
  for (auto& t : s.threads) t.join();
  s.threads.clear();
  s.workers.join();
  s.reloads.join();  // a reload that is loading a model finishes first
  spdlog::info("server stopped");
}

void Server::publish_models(std::vector<ServedModel> models, std::vector<std::string> loading) {
  impl_->api.publish(std::make_shared<ModelCatalog>(std::move(models), std::move(loading)));
}

uint16_t Server::port() const { return impl_->bound_port; }

Metrics& Server::metrics() { return impl_->metrics; }

}  // namespace toolgate::gateway
