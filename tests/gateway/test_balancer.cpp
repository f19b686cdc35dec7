#include <gtest/gtest.h>

#include <map>

#include "gateway/balancer.h"

namespace toolgate::gateway {
namespace {

std::vector<BalancerMember> idle(int n) { return std::vector<BalancerMember>(n); }

TEST(Balancer, LeastOutstandingPicksTheLeastLoadedAvailableMember) {
  auto m = idle(3);
  m[0].in_flight = 4;
  m[1].in_flight = 1;
  m[2].in_flight = 0;
  m[2].available = false;
  EXPECT_EQ(pick_least_outstanding(m, 0), 1u);
}

TEST(Balancer, LeastOutstandingSpreadsTiesByRotation) {
  auto m = idle(3);
  std::map<size_t, int> seen;
  for (uint64_t r = 0; r < 3; ++r) ++seen[*pick_least_outstanding(m, r)];
  EXPECT_EQ(seen.size(), 3u);
}

TEST(Balancer, LeastOutstandingScalesByWeight) {
  auto m = idle(2);
  m[0].in_flight = 2;
  m[0].weight = 4;  // 0.5 per unit of weight
  m[1].in_flight = 1;
  m[1].weight = 1;  // 1 per unit
  EXPECT_EQ(pick_least_outstanding(m, 1), 0u);
}

TEST(Balancer, NothingAvailableGivesNothing) {
  auto m = idle(2);
  for (auto& x : m) x.available = false;
  std::vector<int64_t> cur;
  EXPECT_FALSE(pick_least_outstanding(m, 0));
  EXPECT_FALSE(pick_weighted_round_robin(m, cur));
  EXPECT_FALSE(pick_prefix_affinity(m, 42, 1.25));
}

TEST(Balancer, SmoothWeightedRoundRobinFollowsWeightsAndInterleaves) {
  auto m = idle(3);
  m[0].weight = 5;
  m[1].weight = 1;
  m[2].weight = 1;
  std::vector<int64_t> cur;
  std::vector<size_t> order;
  for (int i = 0; i < 7; ++i) order.push_back(*pick_weighted_round_robin(m, cur));
  // nginx's documented sequence for weights 5,1,1: a a b a c a a.
  EXPECT_EQ(order, (std::vector<size_t>{0, 0, 1, 0, 2, 0, 0}));
}

TEST(Balancer, PrefixAffinityKeepsAKeyOnOneMember) {
  auto m = idle(3);
  const uint64_t key = affinity_hash("system: you are helpful / user: hello");
  const auto first = pick_prefix_affinity(m, key, 1.25);
  ASSERT_TRUE(first);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(pick_prefix_affinity(m, key, 1.25), first);
}

TEST(Balancer, PrefixAffinitySpreadsDifferentKeys) {
  auto m = idle(3);
  std::map<size_t, int> seen;
  for (int k = 0; k < 300; ++k)
    ++seen[*pick_prefix_affinity(m, affinity_hash("conversation " + std::to_string(k)), 1.25)];
  ASSERT_EQ(seen.size(), 3u);
  for (const auto& [member, n] : seen) EXPECT_GT(n, 60) << "member " << member;
}

TEST(Balancer, PrefixAffinitySkipsAMemberAboveTheLoadBound) {
  auto m = idle(3);
  const uint64_t key = affinity_hash("hot prefix");
  const size_t home = *pick_prefix_affinity(m, key, 1.25);
  // The hot member holds 6 of 6 in flight: bound = ceil(1.25 * 7 / 3) = 3, so it is skipped.
  m[home].in_flight = 6;
  const auto other = pick_prefix_affinity(m, key, 1.25);
  ASSERT_TRUE(other);
  EXPECT_NE(*other, home);
  // Under the bound it is home again: 3 in flight, bound ceil(1.25 * 4 / 3) = 2.
  for (auto& x : m) x.in_flight = 1;
  EXPECT_EQ(pick_prefix_affinity(m, key, 1.25), home);
}

TEST(Balancer, PrefixAffinityMovesOnlyTheKeysOfAMemberThatLeaves) {
  auto m = idle(3);
  std::vector<size_t> before;
  for (int k = 0; k < 200; ++k)
    before.push_back(*pick_prefix_affinity(m, affinity_hash(std::to_string(k)), 1e9));
  m[2].available = false;
  for (int k = 0; k < 200; ++k) {
    const size_t now = *pick_prefix_affinity(m, affinity_hash(std::to_string(k)), 1e9);
    if (before[k] != 2) {
      EXPECT_EQ(now, before[k]) << "key " << k;
    }
  }
}

TEST(Balancer, ParsesPolicyNames) {
  EXPECT_EQ(parse_balance_policy("least_outstanding"), BalancePolicy::LeastOutstanding);
  EXPECT_EQ(parse_balance_policy("weighted_round_robin"), BalancePolicy::WeightedRoundRobin);
  EXPECT_EQ(parse_balance_policy("prefix_affinity"), BalancePolicy::PrefixAffinity);
  EXPECT_FALSE(parse_balance_policy("random"));
}

}  // namespace
}  // namespace toolgate::gateway
