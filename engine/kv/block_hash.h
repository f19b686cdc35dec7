#pragma once
// Content hash of one full KV block, chained through its parent so that a block's hash names the
// whole prefix it ends. The 64-bit value is only an index: BlockPool never trusts it alone (see
// BlockKey), because a false prefix hit would silently attend to someone else's K/V.
#include <cstdint>
#include <span>

namespace toolgate::engine {

struct BlockHash {
  uint64_t value = 0;
  friend bool operator==(BlockHash, BlockHash) = default;
};

// The hash of the (empty) prefix before a sequence's first block.
inline constexpr BlockHash kRootBlockHash{0x6a09e667f3bcc908ull};

// hash(parent, tokens of this block, extra key). extra_key separates caches that must never be
// shared although the tokens agree (another adapter, a cache salt); 0 when unused.
BlockHash hash_block(BlockHash parent, std::span<const int32_t> tokens, uint64_t extra_key);

// Lets tests swap in a deliberately weak hash to prove that collisions cannot cause a false hit.
using BlockHasher = BlockHash (*)(BlockHash parent, std::span<const int32_t> tokens,
                                  uint64_t extra_key);

}  // namespace toolgate::engine
