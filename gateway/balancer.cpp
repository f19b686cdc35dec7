#include "gateway/balancer.h"

#include <cmath>
#include <limits>

namespace toolgate::gateway {
namespace {

uint64_t mix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

}  // namespace

std::optional<BalancePolicy> parse_balance_policy(std::string_view name) {
  if (name == "least_outstanding") return BalancePolicy::LeastOutstanding;
  if (name == "weighted_round_robin") return BalancePolicy::WeightedRoundRobin;
  if (name == "prefix_affinity") return BalancePolicy::PrefixAffinity;
  return std::nullopt;
}

std::optional<size_t> pick_least_outstanding(const std::vector<BalancerMember>& members,
                                             uint64_t rotation) {
  const size_t n = members.size();
  std::optional<size_t> best;
  for (size_t k = 0; k < n; ++k) {
    const size_t i = (rotation + k) % n;
    const auto& m = members[i];
    if (!m.available) continue;
    // Compare in_flight / weight without division: a/wa < b/wb  <=>  a*wb < b*wa.
    if (!best || static_cast<int64_t>(m.in_flight) * members[*best].weight <
                     static_cast<int64_t>(members[*best].in_flight) * m.weight)
      best = i;
  }
  return best;
}

std::optional<size_t> pick_weighted_round_robin(const std::vector<BalancerMember>& members,
                                                std::vector<int64_t>& current) {
  current.resize(members.size(), 0);
  std::optional<size_t> best;
  int64_t total = 0;
  for (size_t i = 0; i < members.size(); ++i) {
    if (!members[i].available) continue;
    current[i] += members[i].weight;
    total += members[i].weight;
    if (!best || current[i] > current[*best]) best = i;
  }
  if (best) current[*best] -= total;
  return best;
}

std::optional<size_t> pick_prefix_affinity(const std::vector<BalancerMember>& members, uint64_t key,
                                           double load_factor) {
  int available = 0;
  int64_t load = 0;
  for (const auto& m : members) {
    if (!m.available) continue;
    ++available;
    load += m.in_flight;
  }
  if (available == 0) return std::nullopt;
  // The new request counts: with c >= 1 at least one member is always within the bound.
  const double bound = std::ceil(load_factor * static_cast<double>(load + 1) / available);
  std::optional<size_t> best;
  double best_score = -std::numeric_limits<double>::infinity();
  std::optional<size_t> fallback;  // least loaded, should rounding ever leave none in bound
  for (size_t i = 0; i < members.size(); ++i) {
    const auto& m = members[i];
    if (!m.available) continue;
    if (!fallback || m.in_flight < members[*fallback].in_flight) fallback = i;
    if (m.in_flight + 1 > bound) continue;
    // Weighted rendezvous score -w / ln(u) with u uniform in (0,1) from hash(key, member).
    const uint64_t h = mix64(key ^ mix64(i + 1));
    const double u = (static_cast<double>(h >> 11) + 0.5) / 9007199254740992.0;  // 2^53
    const double score = -static_cast<double>(m.weight) / std::log(u);
    if (score > best_score) {
      best_score = score;
      best = i;
    }
  }
  return best ? best : fallback;
}

uint64_t affinity_hash(std::string_view text) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : text) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  return mix64(h);
}

}  // namespace toolgate::gateway
