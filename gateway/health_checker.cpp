#include "gateway/health_checker.h"

#include <spdlog/spdlog.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <thread>

#include "gateway/upstream_client.h"

namespace toolgate::gateway {
namespace net = boost::asio;

namespace {

// One member's probe loop: wait, GET, report, wait again. Lives on the checker's one thread.
class Probe : public std::enable_shared_from_this<Probe> {
 public:
  Probe(net::io_context& io, std::shared_ptr<UpstreamPool> pool, size_t member)
      : io_(io), pool_(std::move(pool)), member_(member), timer_(io) {
    const auto& o = pool_->options();
    auto t = std::make_shared<UpstreamTarget>(*pool_->target(member));
    t->timeout = o.health_timeout;
    t->retries = 0;  // a failed check is the answer; the next one comes soon enough
    target_ = std::move(t);
  }

  void schedule() {
    timer_.expires_after(pool_->options().health_interval);
    timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      if (!ec && !self->stopped_) self->check();
    });
  }

  void stop() {
    stopped_ = true;
    timer_.cancel();
    if (auto ex = std::move(exchange_)) ex->cancel();
  }

 private:
  void check() {
    status_ = 0;
    auto self = shared_from_this();
    UpstreamExchange::Handlers h;
    h.on_head = [self](int status, std::string) { self->status_ = status; };
    h.on_data = [](std::string) {};
    h.on_end = [self](std::optional<UpstreamFailure> failure) {
      self->exchange_.reset();
      const bool ok = !failure && self->status_ / 100 == 2;
      const bool was = self->pool_->member_available(self->member_);
      self->pool_->report_health_check(self->member_, ok);
      const bool now = self->pool_->member_available(self->member_);
      if (was != now)
        spdlog::info("model '{}': upstream {} is {} (health check {}{})", self->pool_->model_id(),
                     self->target_->base_url, now ? "up" : "down", ok ? "passed" : "failed",
                     failure ? ": " + failure->detail
                     : ok    ? ""
                             : ": HTTP " + std::to_string(self->status_));
      if (!self->stopped_) self->schedule();
    };
    exchange_ = UpstreamExchange::start_get(io_.get_executor(), target_,
                                            pool_->options().health_path, std::move(h));
  }

  net::io_context& io_;
  std::shared_ptr<UpstreamPool> pool_;
  size_t member_;
  std::shared_ptr<const UpstreamTarget> target_;
  net::steady_timer timer_;
  std::shared_ptr<UpstreamExchange> exchange_;
  int status_ = 0;
  bool stopped_ = false;
};

}  // namespace

struct HealthChecker::State {
  net::io_context io{1};
  net::executor_work_guard<net::io_context::executor_type> work{io.get_executor()};
  std::vector<std::shared_ptr<Probe>> probes;
  std::thread thread;
};

HealthChecker::HealthChecker(const std::vector<std::shared_ptr<UpstreamPool>>& pools)
    : state_(std::make_unique<State>()) {
  for (const auto& pool : pools) {
    if (pool->options().health_interval.count() <= 0) continue;
    for (size_t i = 0; i < pool->size(); ++i)
      state_->probes.push_back(std::make_shared<Probe>(state_->io, pool, i));
  }
  if (state_->probes.empty()) return;
  for (auto& p : state_->probes) p->schedule();
  state_->thread = std::thread([s = state_.get()] { s->io.run(); });
}

HealthChecker::~HealthChecker() {
  if (!state_->thread.joinable()) return;
  net::post(state_->io, [s = state_.get()] {
    for (auto& p : s->probes) p->stop();
    s->work.reset();
  });
  state_->thread.join();
}

size_t HealthChecker::probe_count() const { return state_->probes.size(); }

}  // namespace toolgate::gateway
