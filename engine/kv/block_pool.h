#pragma once
// BlockPool: owns every physical KV block id in [0, num_blocks) and nothing else. It hands blocks
// out, takes them back (reference counts), and remembers which full blocks hold which cached
// prefix content. It knows nothing about sequences; KvCacheManager maps sequences to blocks.
//
// Free blocks sit in an intrusive doubly linked queue ordered for eviction: allocate() pops from
// the head; a freed block that holds cached content is appended at the tail (so the least
// recently freed cached block is evicted first), a freed block without cached content is pushed
// at the head (reusing it costs no cache hit). A cached free block that gets a prefix hit is
// unlinked in O(1) by touch().
//
// Exactness of prefix hits: the 64-bit chain hash only selects candidates. A cached block also
// stores its tokens, extra key and the content id ("uid") of its parent block, and lookup()
// compares all of them. Content ids are handed out from a counter that never repeats, and
// identical content gets the same id, so a match at block i given an exact match at block i-1
// is an exact match of the whole prefix by induction, whatever the hash function does.
#include <cstdint>
#include <optional>
#include <span>
#include <unordered_map>
#include <vector>

#include "engine/kv/block_hash.h"

namespace toolgate::engine {

// Everything that identifies the content of one full block.
struct BlockKey {
  BlockHash hash;                   // chain hash: an index, never trusted alone
  uint64_t parent_uid = 0;          // content id of the previous block; 0 for a sequence's first
  uint64_t extra_key = 0;           // see hash_block
  std::span<const int32_t> tokens;  // the block's tokens (block_size of them)
};

class BlockPool {
 public:
  BlockPool(int num_blocks, bool enable_prefix_caching);

  int num_blocks() const { return static_cast<int>(blocks_.size()); }
  bool prefix_caching() const { return prefix_caching_; }

  // Pops n blocks from the head of the free queue, each with ref count 1; a popped block that
  // still held cached content loses it (eviction). Throws std::runtime_error, changing nothing,
  // if fewer than n blocks are free.
  std::vector<int> allocate(int n);

  // Drops one reference from each block. `blocks` is given in sequence order (a block table);
  // they are released last-to-first, so the tail of a hash chain sits nearer the queue head and
  // is evicted before the shared prefix it extends.
  void free(std::span<const int> blocks);

  // Adds one reference to each block, unlinking it from the free queue if it was free (prefix
  // hit on a cached free block).
  void touch(std::span<const int> blocks);

  // A block holding exactly this content, if any.
  std::optional<int> lookup(const BlockKey& key) const;

  // Registers the (referenced, uncached) block as holding `key`'s content and returns the
  // content id to use as parent_uid of the next block. No-op returning 0 when prefix caching
  // is off.
  uint64_t cache(int block, const BlockKey& key);

  bool is_cached(int block) const { return blocks_.at(block).cached.has_value(); }
  BlockHash cached_hash(int block) const;  // requires is_cached
  uint64_t content_uid(int block) const;   // requires is_cached

  int num_free() const { return num_free_; }  // includes cached free (evictable) blocks
  int num_cached_free() const { return num_cached_free_; }
  int num_cached() const { return static_cast<int>(by_hash_.size()); }
  int ref_count(int block) const { return blocks_.at(block).ref; }

  // Free queue from head (next to be allocated) to tail; for tests and debugging.
  std::vector<int> free_queue_order() const;

  // Throws std::logic_error naming the first violated invariant.
  void check_invariants() const;

 private:
  struct CachedContent {
    BlockHash hash;
    uint64_t uid = 0;
    uint64_t parent_uid = 0;
    uint64_t extra_key = 0;
    std::vector<int32_t> tokens;
  };
  struct Block {
    int ref = 0;
    bool in_free_queue = false;
    std::optional<CachedContent> cached;
  };

  static bool same_content(const CachedContent& c, const BlockKey& key);
  void check_block(int block) const;
  void link_after(int pos, int block);
  void unlink(int block);
  void evict(int block);

  std::vector<Block> blocks_;
  // Circular doubly linked free queue; index num_blocks is the sentinel (next = head,
  // prev = tail). Kept beside blocks_ so the sentinel needs no Block.
  std::vector<int> prev_;
  std::vector<int> next_;
  int num_free_ = 0;
  int num_cached_free_ = 0;
  uint64_t next_uid_ = 1;
  bool prefix_caching_;
  std::unordered_multimap<uint64_t, int> by_hash_;  // BlockHash::value -> cached block
};

}  // namespace toolgate::engine
