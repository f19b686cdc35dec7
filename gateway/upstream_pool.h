#pragma once
// The replicas behind one upstream model, and everything the gateway knows about them: requests
// in flight, passive outlier ejection, active health-check state, the retry budget and the
// per-member metrics. Thread-safe (one mutex; every operation is a few dozen instructions).
//
// A request acquire()s a member, runs its exchange and release()s it with the outcome:
//   - Failure (connect error, reset, 5xx): `eject_after_failures` in a row eject the member for
//     eject_ms, doubling on each repeat up to 8x; when the period ends the member is eligible
//     again (the next request probes it) and one success clears the record.
//   - an active health check (health_checker.h) marks members up or down; a good check also
//     ends an ejection early.
// A pool whose members are all down answers at once (acquire() -> nullopt, unavailable()
// says why) rather than waiting on a dead connect.
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "gateway/balancer.h"
#include "gateway/upstream_target.h"

namespace toolgate::gateway {

struct UpstreamPoolOptions {
  BalancePolicy policy = BalancePolicy::LeastOutstanding;
  int max_retries = 1;        // extra attempts on other members, per request
  double retry_budget = 0.2;  // retries <= this share of requests in the window ...
  int min_retries = 3;        // ... plus this many, so a quiet pool can still retry
  std::chrono::milliseconds budget_window{10'000};
  int eject_after_failures = 3;
  std::chrono::milliseconds eject_base{5'000};
  double load_factor = 1.25;  // prefix_affinity's bound: c × average in flight
  // Active checks (0 = off): GET health_path every interval on each member.
  std::chrono::milliseconds health_interval{0};
  std::chrono::milliseconds health_timeout{1'000};
  std::string health_path = "/health";
  int unhealthy_threshold = 2;
  int healthy_threshold = 1;
};

struct UpstreamPoolMemberSpec {
  std::shared_ptr<const UpstreamTarget> target;
  int weight = 1;
  int max_concurrent = 0;  // 0 = no limit
};

enum class MemberOutcome {
  Success,    // an answer (2xx, or a 4xx that is the client's business)
  Failure,    // connect error, reset, timeout or 5xx: counts toward ejection
  Cancelled,  // the client went away or the job stopped: says nothing about the member
};

class UpstreamPool {
 public:
  using Clock = std::chrono::steady_clock;

  UpstreamPool(std::string model_id, UpstreamPoolOptions options,
               std::vector<UpstreamPoolMemberSpec> members);

  const std::string& model_id() const { return model_id_; }
  const UpstreamPoolOptions& options() const { return options_; }
  size_t size() const { return members_.size(); }
  const std::shared_ptr<const UpstreamTarget>& target(size_t member) const {
    return members_[member]->target;
  }

  // Picks an available member not in `tried` and counts it in flight; nullopt when none is.
  // `key` matters for prefix_affinity only. Counts one request toward the retry budget when
  // `tried` is empty.
  std::optional<size_t> acquire(uint64_t key, const std::vector<size_t>& tried,
                                Clock::time_point now = Clock::now());
  void release(size_t member, MemberOutcome outcome, double seconds,
               Clock::time_point now = Clock::now());

  // Spends one retry from the pool's budget; false when the budget is used up.
  bool try_spend_retry(Clock::time_point now = Clock::now());

  // A member for another attempt of a request that has asked `tried` (its first attempt
  // included): nullopt when the request's max_retries are used, no untried member is
  // available, or the pool's retry budget is spent. Counts the member in flight like acquire().
  std::optional<size_t> acquire_retry(uint64_t key, const std::vector<size_t>& tried,
                                      Clock::time_point now = Clock::now());

  // Why acquire() found nothing, for the 503's message.
  std::string unavailable_reason(Clock::time_point now = Clock::now()) const;

  // Active health checks report here.
  void report_health_check(size_t member, bool ok, Clock::time_point now = Clock::now());

  bool member_available(size_t member, Clock::time_point now = Clock::now()) const;
  int in_flight(size_t member) const;

  // Prometheus families toolgate:upstream_* with one series per member (labels model_name,
  // upstream = the member's base_url), for every pool. Called at scrape time.
  static void render_metrics(std::string& out, const std::vector<const UpstreamPool*>& pools);

 private:
  struct Member {
    std::shared_ptr<const UpstreamTarget> target;
    int weight = 1;
    int max_concurrent = 0;
    int in_flight = 0;
    bool checked_healthy = true;  // active health check verdict
    int check_streak = 0;         // consecutive checks contradicting the verdict
    int consecutive_failures = 0;
    int ejections_in_a_row = 0;
    Clock::time_point ejected_until{};
    uint64_t requests = 0;
    uint64_t failures = 0;
    uint64_t ejections = 0;
    std::vector<uint64_t> latency_buckets;  // non-cumulative, per kLatencyBounds, +Inf last
    double latency_sum = 0;
  };

  bool up(const Member& m, Clock::time_point now) const;
  void roll_budget(Clock::time_point now);

  std::string model_id_;
  UpstreamPoolOptions options_;
  std::vector<std::unique_ptr<Member>> members_;
  mutable std::mutex mu_;
  uint64_t rotation_ = 0;
  std::vector<int64_t> wrr_current_;
  // Retry budget over two half-windows: the current one and the one before.
  Clock::time_point budget_started_{};
  uint64_t requests_now_ = 0, requests_before_ = 0;
  uint64_t retries_now_ = 0, retries_before_ = 0;
  uint64_t retries_total_ = 0, retries_refused_ = 0;
};

}  // namespace toolgate::gateway
