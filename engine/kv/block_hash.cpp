#include "engine/kv/block_hash.h"

namespace toolgate::engine {
namespace {

// splitmix64's finaliser: every input bit affects every output bit.
uint64_t mix64(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebull;
  x ^= x >> 31;
  return x;
}

}  // namespace

BlockHash hash_block(BlockHash parent, std::span<const int32_t> tokens, uint64_t extra_key) {
  uint64_t h = mix64(parent.value ^ 0x9e3779b97f4a7c15ull);
  for (int32_t t : tokens) {
    h = mix64(h ^ (static_cast<uint64_t>(static_cast<uint32_t>(t)) + 0x9e3779b97f4a7c15ull));
  }
  h = mix64(h ^ mix64(extra_key + tokens.size()));
  return BlockHash{h};
}

}  // namespace toolgate::engine
