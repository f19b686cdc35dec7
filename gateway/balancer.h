#pragma once
// Picking a pool member: the three balancing policies as pure functions over a snapshot of the
// members' state, so they are testable without sockets or clocks. upstream_pool.h owns the
// state and the lock; this file only decides.
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace toolgate::gateway {

enum class BalancePolicy { LeastOutstanding, WeightedRoundRobin, PrefixAffinity };

// "least_outstanding" | "weighted_round_robin" | "prefix_affinity"; nullopt for anything else.
std::optional<BalancePolicy> parse_balance_policy(std::string_view name);

struct BalancerMember {
  bool available = true;  // healthy, not ejected, under max_concurrent, not already tried
  int in_flight = 0;
  int weight = 1;  // >= 1
};

// Fewest requests in flight relative to weight; ties go to the first at or after `rotation`
// (the caller advances it per pick) so an idle pool still spreads its requests.
std::optional<size_t> pick_least_outstanding(const std::vector<BalancerMember>& members,
                                             uint64_t rotation);

// nginx's smooth weighted round robin: every available member gains its weight, the largest
// total wins and pays back the sum. `current` (one per member) persists between picks.
std::optional<size_t> pick_weighted_round_robin(const std::vector<BalancerMember>& members,
                                                std::vector<int64_t>& current);

// Weighted rendezvous hashing with bounded load (Mirrokni, Thorup, Zadimoghaddam 2018,
// "Consistent hashing with bounded loads"): members are ranked by a hash of (key, member); the
// first whose in-flight count would stay within ceil(load_factor × average) of the available
// members takes the request. The same key keeps landing on the same member (its KV cache holds
// the prefix) until that member is loaded beyond the bound; a member leaving moves only its
// own keys. load_factor >= 1.
std::optional<size_t> pick_prefix_affinity(const std::vector<BalancerMember>& members, uint64_t key,
                                           double load_factor);

// 64-bit FNV-1a, then a finalizer (splitmix64) so nearby keys spread.
uint64_t affinity_hash(std::string_view text);

}  // namespace toolgate::gateway
