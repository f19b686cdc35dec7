#include "engine/kv/block_pool.h"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace toolgate::engine {

BlockPool::BlockPool(int num_blocks, bool enable_prefix_caching)
    : prefix_caching_(enable_prefix_caching) {
  if (num_blocks <= 0) throw std::invalid_argument("BlockPool: num_blocks must be positive");
  blocks_.resize(num_blocks);
  prev_.assign(num_blocks + 1, -1);
  next_.assign(num_blocks + 1, -1);
  const int s = num_blocks;
  prev_[s] = next_[s] = s;
  // Ascending ids from the head: allocation order is predictable, which tests rely on.
  for (int b = 0; b < num_blocks; ++b) link_after(prev_[s], b);
  num_free_ = num_blocks;
}

void BlockPool::check_block(int block) const {
  if (block < 0 || block >= num_blocks())
    throw std::out_of_range("BlockPool: block id " + std::to_string(block) + " out of range");
}

void BlockPool::link_after(int pos, int block) {
  const int nxt = next_[pos];
  prev_[block] = pos;
  next_[block] = nxt;
  next_[pos] = block;
  prev_[nxt] = block;
  blocks_[block].in_free_queue = true;
}

void BlockPool::unlink(int block) {
  next_[prev_[block]] = next_[block];
  prev_[next_[block]] = prev_[block];
  prev_[block] = next_[block] = -1;
  blocks_[block].in_free_queue = false;
}

void BlockPool::evict(int block) {
  auto range = by_hash_.equal_range(blocks_[block].cached->hash.value);
  for (auto it = range.first; it != range.second; ++it) {
    if (it->second == block) {
      by_hash_.erase(it);
      break;
    }
  }
  blocks_[block].cached.reset();
}

std::vector<int> BlockPool::allocate(int n) {
  if (n < 0) throw std::invalid_argument("BlockPool::allocate: negative count");
  if (n > num_free_)
    throw std::runtime_error("BlockPool::allocate: " + std::to_string(n) + " blocks asked, " +
                             std::to_string(num_free_) + " free");
  std::vector<int> out;
  out.reserve(n);
  const int s = num_blocks();
  for (int i = 0; i < n; ++i) {
    const int b = next_[s];
    unlink(b);
    --num_free_;
    if (blocks_[b].cached) {
      --num_cached_free_;
      evict(b);
    }
    blocks_[b].ref = 1;
    out.push_back(b);
  }
  return out;
}

void BlockPool::free(std::span<const int> blocks) {
  const int s = num_blocks();
  for (auto it = blocks.rbegin(); it != blocks.rend(); ++it) {
    const int b = *it;
    check_block(b);
    Block& blk = blocks_[b];
    if (blk.ref <= 0)
      throw std::logic_error("BlockPool::free: block " + std::to_string(b) + " is not referenced");
    if (--blk.ref > 0) continue;
    ++num_free_;
    if (blk.cached) {
      link_after(prev_[s], b);  // tail: evicted last
      ++num_cached_free_;
    } else {
      link_after(s, b);  // head: reused first, no cached content is lost
    }
  }
}

void BlockPool::touch(std::span<const int> blocks) {
  for (int b : blocks) {
    check_block(b);
    Block& blk = blocks_[b];
    if (blk.in_free_queue) {
      unlink(b);
      --num_free_;
      if (blk.cached) --num_cached_free_;
    }
    ++blk.ref;
  }
}

bool BlockPool::same_content(const CachedContent& c, const BlockKey& key) {
  return c.hash == key.hash && c.parent_uid == key.parent_uid && c.extra_key == key.extra_key &&
         std::ranges::equal(c.tokens, key.tokens);
}

std::optional<int> BlockPool::lookup(const BlockKey& key) const {
  auto range = by_hash_.equal_range(key.hash.value);
  for (auto it = range.first; it != range.second; ++it) {
    if (same_content(*blocks_[it->second].cached, key)) return it->second;
  }
  return std::nullopt;
}

uint64_t BlockPool::cache(int block, const BlockKey& key) {
  if (!prefix_caching_) return 0;
  check_block(block);
  Block& blk = blocks_[block];
  if (blk.ref <= 0)
    throw std::logic_error("BlockPool::cache: block " + std::to_string(block) +
                           " is not referenced");
  if (blk.cached)
    throw std::logic_error("BlockPool::cache: block " + std::to_string(block) +
                           " is already cached");
  // Identical content computed twice (two requests prefilled the same prompt concurrently)
  // shares one content id, so either copy can serve as the parent of a later hit.
  const std::optional<int> twin = lookup(key);
  const uint64_t uid = twin ? blocks_[*twin].cached->uid : next_uid_++;
  blk.cached = CachedContent{key.hash, uid, key.parent_uid, key.extra_key,
                             std::vector<int32_t>(key.tokens.begin(), key.tokens.end())};
  by_hash_.emplace(key.hash.value, block);
  return uid;
}

BlockHash BlockPool::cached_hash(int block) const {
  check_block(block);
  if (!blocks_[block].cached) throw std::logic_error("BlockPool::cached_hash: block not cached");
  return blocks_[block].cached->hash;
}

uint64_t BlockPool::content_uid(int block) const {
  check_block(block);
  if (!blocks_[block].cached) throw std::logic_error("BlockPool::content_uid: block not cached");
  return blocks_[block].cached->uid;
}

std::vector<int> BlockPool::free_queue_order() const {
  std::vector<int> out;
  const int s = num_blocks();
  for (int b = next_[s]; b != s && static_cast<int>(out.size()) <= num_blocks(); b = next_[b])
    out.push_back(b);
  return out;
}

void BlockPool::check_invariants() const {
  auto fail = [](const std::string& what) {
    throw std::logic_error("BlockPool invariant: " + what);
  };
  const int n = num_blocks();
  const int s = n;
  // Walk the queue: links must be mutual, must not cycle, and must hold exactly the ref-0 blocks.
  int queued = 0;
  int queued_cached = 0;
  std::vector<char> seen(n, 0);
  int last = s;
  for (int prev = s, b = next_[s]; b != s; prev = b, b = next_[b]) {
    if (b < 0 || b >= n) fail("free queue link to invalid id " + std::to_string(b));
    if (prev_[b] != prev) fail("free queue back link of block " + std::to_string(b) + " broken");
    if (seen[b]) fail("free queue cycles through block " + std::to_string(b));
    seen[b] = 1;
    ++queued;
    if (blocks_[b].cached) ++queued_cached;
    last = b;
  }
  if (prev_[s] != last) fail("free queue tail pointer is stale");
  int refzero = 0;
  int cached = 0;
  for (int b = 0; b < n; ++b) {
    const Block& blk = blocks_[b];
    if (blk.ref < 0) fail("block " + std::to_string(b) + " has negative ref count");
    if (blk.ref == 0) ++refzero;
    // Free XOR referenced.
    if ((blk.ref == 0) != blk.in_free_queue || blk.in_free_queue != static_cast<bool>(seen[b]))
      fail("block " + std::to_string(b) + " has ref " + std::to_string(blk.ref) +
           (seen[b] ? " but is in the free queue" : " but is not in the free queue"));
    if (blk.cached) {
      ++cached;
      if (!prefix_caching_) fail("block " + std::to_string(b) + " cached with caching off");
      int entries = 0;
      auto range = by_hash_.equal_range(blk.cached->hash.value);
      for (auto it = range.first; it != range.second; ++it) entries += it->second == b;
      if (entries != 1)
        fail("cached block " + std::to_string(b) + " has " + std::to_string(entries) +
             " hash map entries");
      if (blk.cached->uid == 0 || blk.cached->uid >= next_uid_)
        fail("cached block " + std::to_string(b) + " has an unissued content id");
    }
  }
  for (const auto& [h, b] : by_hash_) {
    if (b < 0 || b >= n) fail("hash map points to invalid id " + std::to_string(b));
    if (!blocks_[b].cached || blocks_[b].cached->hash.value != h)
      fail("hash map entry for block " + std::to_string(b) + " does not match the block");
  }
  if (static_cast<int>(by_hash_.size()) != cached) fail("hash map size != cached blocks");
  if (queued != refzero) fail("free queue length != number of ref-0 blocks");
  if (queued != num_free_) fail("num_free counter is stale");
  if (queued_cached != num_cached_free_) fail("num_cached_free counter is stale");
}

}  // namespace toolgate::engine
