#include <gtest/gtest.h>

#include <set>

#include "gateway/upstream_pool.h"

namespace toolgate::gateway {
namespace {

using Clock = UpstreamPool::Clock;
using std::chrono::milliseconds;

std::vector<UpstreamPoolMemberSpec> members(int n, int max_concurrent = 0) {
  std::vector<UpstreamPoolMemberSpec> out;
  for (int i = 0; i < n; ++i) {
    auto t = std::make_shared<UpstreamTarget>();
    t->base_url = "http://10.0.0." + std::to_string(i + 1) + ":8000/v1";
    out.push_back({t, 1, max_concurrent});
  }
  return out;
}

UpstreamPoolOptions options() {
  UpstreamPoolOptions o;
  o.eject_after_failures = 2;
  o.eject_base = milliseconds(1000);
  return o;
}

TEST(UpstreamPool, SpreadsConcurrentRequestsOverIdleMembers) {
  UpstreamPool pool("m", options(), members(3));
  std::set<size_t> used;
  for (int i = 0; i < 3; ++i) used.insert(*pool.acquire(0, {}));
  EXPECT_EQ(used.size(), 3u);
}

TEST(UpstreamPool, ConsecutiveFailuresEjectAMemberUntilTheBackOffEnds) {
  UpstreamPool pool("m", options(), members(2));
  const auto t0 = Clock::now();
  for (int i = 0; i < 2; ++i) {
    ASSERT_EQ(pool.acquire(0, {1}, t0), 0u);
    pool.release(0, MemberOutcome::Failure, 0.01, t0);
  }
  EXPECT_FALSE(pool.member_available(0, t0));
  EXPECT_FALSE(pool.acquire(0, {1}, t0 + milliseconds(999)));
  EXPECT_NE(pool.unavailable_reason(t0).find("1 ejected"), std::string::npos);
  // Back-off over: probed by the next request; one success clears the record.
  ASSERT_EQ(pool.acquire(0, {1}, t0 + milliseconds(1000)), 0u);
  pool.release(0, MemberOutcome::Success, 0.01, t0 + milliseconds(1000));
  EXPECT_TRUE(pool.member_available(0, t0 + milliseconds(1000)));
}

TEST(UpstreamPool, RepeatedEjectionsBackOffLonger) {
  UpstreamPool pool("m", options(), members(1));
  auto t = Clock::now();
  for (int round = 0; round < 2; ++round) {
    for (int i = 0; i < 2; ++i) {
      ASSERT_TRUE(pool.acquire(0, {}, t));
      pool.release(0, MemberOutcome::Failure, 0.01, t);
    }
    if (round == 0) t += milliseconds(1000);
  }
  EXPECT_FALSE(pool.member_available(0, t + milliseconds(1999)));  // second ejection: 2 s
  EXPECT_TRUE(pool.member_available(0, t + milliseconds(2000)));
}

TEST(UpstreamPool, CancelledRequestsSayNothingAboutTheMember) {
  UpstreamPool pool("m", options(), members(1));
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(pool.acquire(0, {}));
    pool.release(0, MemberOutcome::Cancelled, 0);
  }
  EXPECT_TRUE(pool.member_available(0));
  EXPECT_EQ(pool.in_flight(0), 0);
}

TEST(UpstreamPool, HealthChecksTakeAMemberOutAndBackWithThresholds) {
  auto o = options();
  o.unhealthy_threshold = 2;
  o.healthy_threshold = 2;
  UpstreamPool pool("m", o, members(2));
  pool.report_health_check(1, false);
  EXPECT_TRUE(pool.member_available(1));
  pool.report_health_check(1, false);
  EXPECT_FALSE(pool.member_available(1));
  EXPECT_EQ(pool.acquire(0, {}), 0u);
  EXPECT_FALSE(pool.acquire(0, {0}));
  pool.report_health_check(1, true);
  EXPECT_FALSE(pool.member_available(1));
  pool.report_health_check(1, true);
  EXPECT_TRUE(pool.member_available(1));
}

TEST(UpstreamPool, AGoodHealthCheckEndsAnEjection) {
  UpstreamPool pool("m", options(), members(1));
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(pool.acquire(0, {}));
    pool.release(0, MemberOutcome::Failure, 0.01);
  }
  EXPECT_FALSE(pool.member_available(0));
  pool.report_health_check(0, true);
  EXPECT_TRUE(pool.member_available(0));
}

TEST(UpstreamPool, MaxConcurrentCapsAMember) {
  UpstreamPool pool("m", options(), members(1, /*max_concurrent=*/2));
  ASSERT_TRUE(pool.acquire(0, {}));
  ASSERT_TRUE(pool.acquire(0, {}));
  EXPECT_FALSE(pool.acquire(0, {}));
  EXPECT_NE(pool.unavailable_reason().find("at max_concurrent"), std::string::npos);
  pool.release(0, MemberOutcome::Success, 0.01);
  EXPECT_TRUE(pool.acquire(0, {}));
}

TEST(UpstreamPool, RetryBudgetAllowsAShareOfRequestsPlusAMinimum) {
  auto o = options();
  o.retry_budget = 0.2;
  o.min_retries = 3;
  UpstreamPool pool("m", o, members(2));
  const auto t = Clock::now();
  for (int i = 0; i < 10; ++i) {
    auto m = pool.acquire(0, {}, t);
    pool.release(*m, MemberOutcome::Success, 0.01, t);
  }
  // 3 + 0.2 * 10 = 5 retries.
  int granted = 0;
  while (pool.try_spend_retry(t) && granted < 100) ++granted;
  EXPECT_EQ(granted, 5);
  // Two half-windows later the budget is fresh.
  EXPECT_TRUE(pool.try_spend_retry(t + o.budget_window + milliseconds(1)));
}

TEST(UpstreamPool, RendersPerMemberMetricsWithoutKeys) {
  UpstreamPool pool("smol", options(), members(2));
  auto m = pool.acquire(0, {});
  pool.release(*m, MemberOutcome::Failure, 0.2);
  std::string text;
  UpstreamPool::render_metrics(text, {&pool});
  EXPECT_NE(
      text.find("toolgate:upstream_requests_total{model_name=\"smol\",upstream=\"http://10.0.0."),
      std::string::npos);
  EXPECT_NE(text.find("toolgate:upstream_errors_total"), std::string::npos);
  EXPECT_NE(text.find("toolgate:upstream_healthy"), std::string::npos);
  EXPECT_NE(text.find("toolgate:upstream_request_duration_seconds_bucket"), std::string::npos);
  EXPECT_NE(text.find("toolgate:upstream_retries_total{model_name=\"smol\"} 0"), std::string::npos);
}

}  // namespace
}  // namespace toolgate::gateway
