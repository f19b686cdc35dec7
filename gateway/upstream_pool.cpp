#include "gateway/upstream_pool.h"

#include <algorithm>
#include <cstdio>
#include <initializer_list>
#include <string_view>

#include "gateway/metrics.h"
#include "gateway/upstream_connection_pool.h"

namespace toolgate::gateway {
namespace {

constexpr double kLatencyBounds[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                                     1,     2.5,  5,     10,   30,  60};
constexpr size_t kLatencyBuckets = std::size(kLatencyBounds) + 1;


std::string number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

}  // namespace

UpstreamPool::UpstreamPool(std::string model_id, UpstreamPoolOptions options,
                           std::vector<UpstreamPoolMemberSpec> members)
    : model_id_(std::move(model_id)), options_(std::move(options)) {
  for (auto& spec : members) {
    auto m = std::make_unique<Member>();
    m->target = std::move(spec.target);
    m->weight = std::max(1, spec.weight);
    m->max_concurrent = spec.max_concurrent;
    m->latency_buckets.assign(kLatencyBuckets, 0);
    members_.push_back(std::move(m));
  }
  wrr_current_.assign(members_.size(), 0);
}

bool UpstreamPool::up(const Member& m, Clock::time_point now) const {
  return m.checked_healthy && now >= m.ejected_until;
}

std::optional<size_t> UpstreamPool::acquire(uint64_t key, const std::vector<size_t>& tried,
                                            Clock::time_point now) {
  std::lock_guard lock(mu_);
  if (tried.empty()) {
    roll_budget(now);
    ++requests_now_;
  }
  std::vector<BalancerMember> view(members_.size());
  for (size_t i = 0; i < members_.size(); ++i) {
    const Member& m = *members_[i];
    view[i].in_flight = m.in_flight;
    view[i].weight = m.weight;
    view[i].available = up(m, now) && (m.max_concurrent == 0 || m.in_flight < m.max_concurrent) &&
                        std::find(tried.begin(), tried.end(), i) == tried.end();
  }
  std::optional<size_t> pick;
  switch (options_.policy) {
    case BalancePolicy::LeastOutstanding:
      pick = pick_least_outstanding(view, rotation_++);
      break;
    case BalancePolicy::WeightedRoundRobin:
      pick = pick_weighted_round_robin(view, wrr_current_);
      break;
    case BalancePolicy::PrefixAffinity:
      pick = pick_prefix_affinity(view, key, options_.load_factor);
      break;
  }
  if (pick) {
    ++members_[*pick]->in_flight;
    ++members_[*pick]->requests;
  }
  return pick;
}

void UpstreamPool::release(size_t member, MemberOutcome outcome, double seconds,
                           Clock::time_point now) {
  std::lock_guard lock(mu_);
  Member& m = *members_[member];
  --m.in_flight;
  if (outcome == MemberOutcome::Cancelled) return;
  size_t b = 0;
  while (b < std::size(kLatencyBounds) && seconds > kLatencyBounds[b]) ++b;
  ++m.latency_buckets[b];
  m.latency_sum += seconds;
  if (outcome == MemberOutcome::Success) {
    m.consecutive_failures = 0;
    m.ejections_in_a_row = 0;
    return;
  }
  ++m.failures;
  if (++m.consecutive_failures < options_.eject_after_failures) return;
  // Ejected now (a request that was already in flight may fail again afterwards: that
  // extends nothing while the ejection lasts).
  if (now < m.ejected_until) return;
  const int factor = 1 << std::min(m.ejections_in_a_row, 3);
  m.ejected_until = now + options_.eject_base * factor;
  ++m.ejections_in_a_row;
  ++m.ejections;
  m.consecutive_failures = 0;
}

std::optional<size_t> UpstreamPool::acquire_retry(uint64_t key, const std::vector<size_t>& tried,
                                                  Clock::time_point now) {
  if (static_cast<int>(tried.size()) > options_.max_retries) return std::nullopt;
  auto next = acquire(key, tried, now);
  if (!next) return std::nullopt;
  if (!try_spend_retry(now)) {
    release(*next, MemberOutcome::Cancelled, 0, now);
    return std::nullopt;
  }
  return next;
}

bool UpstreamPool::try_spend_retry(Clock::time_point now) {
  std::lock_guard lock(mu_);
  roll_budget(now);
  const double allowed =
      options_.min_retries +
      options_.retry_budget * static_cast<double>(requests_now_ + requests_before_);
  if (static_cast<double>(retries_now_ + retries_before_) + 1 > allowed) {
    ++retries_refused_;
    return false;
  }
  ++retries_now_;
  ++retries_total_;
  return true;
}

void UpstreamPool::roll_budget(Clock::time_point now) {
  const auto half = options_.budget_window / 2;
  if (now - budget_started_ < half) return;
  if (now - budget_started_ < 2 * half) {
    requests_before_ = requests_now_;
    retries_before_ = retries_now_;
  } else {
    requests_before_ = retries_before_ = 0;
  }
  requests_now_ = retries_now_ = 0;
  budget_started_ = now;
}

std::string UpstreamPool::unavailable_reason(Clock::time_point now) const {
  std::lock_guard lock(mu_);
  int down = 0, ejected = 0, busy = 0;
  for (const auto& m : members_) {
    if (!m->checked_healthy) {
      ++down;
    } else if (now < m->ejected_until) {
      ++ejected;
    } else if (m->max_concurrent != 0 && m->in_flight >= m->max_concurrent) {
      ++busy;
    }
  }
  std::string why = "no upstream member of model '" + model_id_ + "' can take the request (" +
                    std::to_string(members_.size()) + " configured";
  if (down) why += ", " + std::to_string(down) + " failing health checks";
  if (ejected) why += ", " + std::to_string(ejected) + " ejected after errors";
  if (busy) why += ", " + std::to_string(busy) + " at max_concurrent";
  return why + ")";
}

void UpstreamPool::report_health_check(size_t member, bool ok, Clock::time_point now) {
  std::lock_guard lock(mu_);
  Member& m = *members_[member];
  if (ok && now < m.ejected_until) {
    // Probed and answering: the ejection has served its purpose.
    m.ejected_until = now;
    m.consecutive_failures = 0;
  }
  if (ok == m.checked_healthy) {
    m.check_streak = 0;
    return;
  }
  const int needed = ok ? options_.healthy_threshold : options_.unhealthy_threshold;
  if (++m.check_streak < needed) return;
  m.checked_healthy = ok;
  m.check_streak = 0;
  if (ok) m.consecutive_failures = 0;
}

bool UpstreamPool::member_available(size_t member, Clock::time_point now) const {
  std::lock_guard lock(mu_);
  return up(*members_[member], now);
}

int UpstreamPool::in_flight(size_t member) const {
  std::lock_guard lock(mu_);
  return members_[member]->in_flight;
}

void UpstreamPool::render_metrics(std::string& out, const std::vector<const UpstreamPool*>& pools) {
  if (pools.empty()) return;
  const auto now = Clock::now();
  std::vector<std::unique_lock<std::mutex>> locks;
  for (const auto* p : pools) locks.emplace_back(p->mu_);
  // Appended piece by piece: chains of `std::string + ...` trip GCC 12's -Wrestrict at -O3.
  auto add = [&out](std::initializer_list<std::string_view> parts) {
    for (auto part : parts) out.append(part);
  };
  auto header = [&](std::string_view name, std::string_view type, std::string_view help) {
    add({"# HELP ", name, " ", help, "\n# TYPE ", name, " ", type, "\n"});
  };
  auto labels = [](const UpstreamPool& p, const Member& m) {
    std::string l = "model_name=\"";
    l.append(prometheus_label(p.model_id_));
    l.append("\",upstream=\"");
    l.append(prometheus_label(m.target->base_url));
    l.append("\"");
    return l;
  };
  auto family = [&](std::string_view name, std::string_view type, std::string_view help,
                    auto value) {
    header(name, type, help);
    for (const auto* p : pools)
      for (const auto& m : p->members_) add({name, "{", labels(*p, *m), "} ", value(*p, *m), "\n"});
  };
  using P = const UpstreamPool&;
  using M = const Member&;
  family("toolgate:upstream_requests_total", "counter", "Requests sent to an upstream member.",
         [](P, M m) { return std::to_string(m.requests); });
  family("toolgate:upstream_errors_total", "counter",
         "Requests to an upstream member that failed (connect error, reset, timeout, 5xx).",
         [](P, M m) { return std::to_string(m.failures); });
  family("toolgate:upstream_ejections_total", "counter",
         "Times an upstream member was ejected after consecutive failures.",
         [](P, M m) { return std::to_string(m.ejections); });
  family("toolgate:upstream_requests_in_flight", "gauge",
         "Requests in flight to an upstream member.",
         [](P, M m) { return std::to_string(m.in_flight); });
  family("toolgate:upstream_healthy", "gauge",
         "1 when an upstream member takes requests; 0 when it fails health checks or is ejected.",
         [now](P p, M m) { return std::string(p.up(m, now) ? "1" : "0"); });
  // Keep-alive (upstream_connection_pool.h); 0 for https members, which always connect anew.
  family("toolgate:upstream_connections_reused_total", "counter",
         "Requests to an upstream member sent on a kept-alive connection instead of a new one.",
         [](P, M m) {
           return std::to_string(m.target->connections ? m.target->connections->reused() : 0);
         });
  family("toolgate:upstream_idle_connections", "gauge",
         "Kept-alive connections to an upstream member waiting for the next request.",
         [](P, M m) {
           return std::to_string(m.target->connections ? m.target->connections->idle() : 0);
         });
  constexpr std::string_view lat = "toolgate:upstream_request_duration_seconds";
  header(lat, "histogram", "Time from sending a request to an upstream member to its last byte.");
  for (const auto* p : pools) {
    for (const auto& m : p->members_) {
      const std::string l = labels(*p, *m);
      uint64_t cumulative = 0;
      for (size_t b = 0; b < kLatencyBuckets; ++b) {
        cumulative += m->latency_buckets[b];
        const std::string le = b < std::size(kLatencyBounds) ? number(kLatencyBounds[b]) : "+Inf";
        add({lat, "_bucket{", l, ",le=\"", le, "\"} ", std::to_string(cumulative), "\n"});
      }
      add({lat, "_sum{", l, "} ", number(m->latency_sum), "\n"});
      add({lat, "_count{", l, "} ", std::to_string(cumulative), "\n"});
    }
  }
  auto pool_family = [&](std::string_view name, std::string_view help, auto value) {
    header(name, "counter", help);
    for (const auto* p : pools)
      add({name, "{model_name=\"", prometheus_label(p->model_id_), "\"} ", value(*p), "\n"});
  };
  pool_family("toolgate:upstream_retries_total", "Requests retried on another member of the pool.",
              [](P p) { return std::to_string(p.retries_total_); });
  pool_family("toolgate:upstream_retries_refused_total", "Retries the pool's retry budget refused.",
              [](P p) { return std::to_string(p.retries_refused_); });
}

}  // namespace toolgate::gateway
