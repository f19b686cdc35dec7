#pragma once
// The prefix-affinity key of a forwarded chat request: what stays the same across the turns of
// one conversation and decides which replica's KV cache already holds it. That is the leading
// system/developer messages plus the first user message (each turn resends them unchanged);
// later messages grow turn by turn and are left out, so every turn hashes alike.
#include <cstdint>
#include <nlohmann/json.hpp>

namespace toolgate::gateway {

// 0 when the body has no messages array (any member will do).
uint64_t upstream_affinity_key(const nlohmann::ordered_json& body);

}  // namespace toolgate::gateway
