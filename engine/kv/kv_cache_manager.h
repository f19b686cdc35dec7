#pragma once
// KvCacheManager: maps each sequence to its block table. It finds cached prefixes, makes room
// for the tokens a step will compute (taking a private copy of a shared block before anyone
// writes into it), registers newly full blocks in the prefix cache, and frees. The BlockPool
// below it owns the blocks; the Scheduler above it decides who runs.
//
// Token positions: token p of a sequence lives in block_table[p / block_size], slot
// p % block_size. Full blocks are immutable once computed; only positions >= num_computed are
// ever written, so only the block holding position num_computed (shared after fork()) can need
// copy-on-write.
#include <cstdint>
#include <span>
#include <unordered_map>
#include <utility>
#include <vector>

#include "engine/kv/block_hash.h"
#include "engine/kv/block_pool.h"

namespace toolgate::engine {

using SeqId = uint64_t;

// A run of full cached blocks that a new sequence can adopt instead of computing.
struct CachedPrefix {
  std::vector<int> blocks;
  int num_tokens = 0;  // blocks.size() * block_size
};

struct KvCacheStats {
  int blocks_total = 0;
  int blocks_used = 0;         // referenced by at least one sequence
  int blocks_cached_free = 0;  // free but still holding cached content (evictable)
  uint64_t prefix_query_tokens = 0;  // prompt tokens of sequences admitted with caching on
  uint64_t prefix_hit_tokens = 0;    // of which were found in the cache
  uint64_t cow_copies = 0;           // block copies handed to the runner
};

class KvCacheManager {
 public:
  KvCacheManager(int num_blocks, int block_size, bool prefix_caching,
                 BlockHasher hasher = hash_block);

  int block_size() const { return block_size_; }
  int num_blocks() const { return pool_.num_blocks(); }
  bool prefix_caching() const { return pool_.prefix_caching(); }
  int blocks_for_tokens(int num_tokens) const {
    return (num_tokens + block_size_ - 1) / block_size_;
  }

  // Longest run of full blocks at the start of `tokens` whose K/V are cached. Never covers all
  // tokens: at least one must remain so that the step computes logits to sample from. Empty
  // when prefix caching is off. `extra_key` (see hash_block: the sequence's adapter) must match
  // the key the blocks were committed under.
  CachedPrefix find_cached_prefix(std::span<const int32_t> tokens, uint64_t extra_key = 0) const;

  // Makes the sequence's block table cover num_computed + num_new tokens, creating the sequence
  // on first use. `prefix` (first allocation only; from find_cached_prefix just before, with
  // num_computed == prefix->num_tokens) becomes the start of the table. Blocks the step will
  // write into that are shared (ref > 1) are replaced by private copies, reported through
  // take_pending_copies(). Returns false and changes nothing if free blocks (evictable cached
  // ones included) do not suffice. `extra_key` (first allocation only) is the key the sequence's
  // blocks are committed under: K/V computed under one key are never a prefix hit for another.
  bool allocate(SeqId id, std::span<const int32_t> tokens, int num_computed, int num_new,
                const CachedPrefix* prefix = nullptr, uint64_t extra_key = 0);

  // After a step whose K/V now cover tokens [0, num_computed), registers the newly full blocks
  // in the prefix cache. No-op when prefix caching is off.
  void commit(SeqId id, std::span<const int32_t> tokens, int num_computed);

  // `child` shares every block of `parent`, the partial last one included (n > 1 choices).
  // Neither may write a shared block: allocate() copies it first.
  void fork(SeqId parent, SeqId child);

  // Releases the sequence's blocks (tail first, see BlockPool::free). Unknown ids are ignored.
  void free(SeqId id);

  // Speculative decoding rolled back: the sequence keeps only tokens [0, num_tokens). Blocks
  // past blocks_for_tokens(num_tokens) return to the pool (tail first); slots of the last kept
  // block beyond num_tokens hold stale K/V that the next step overwrites before the block can
  // ever be committed (commit() only registers blocks full of computed, kept tokens). Throws
  // std::logic_error if that would drop a committed block.
  void truncate(SeqId id, int num_tokens);

  bool contains(SeqId id) const { return seqs_.contains(id); }
  int num_sequences() const { return static_cast<int>(seqs_.size()); }
  const std::vector<int>& block_table(SeqId id) const;  // throws std::out_of_range if unknown

  // Block copies (src, dst) made by allocate() since the last call. The runner must copy the
  // K/V of src into dst before running the step that allocate() prepared.
  std::vector<std::pair<int, int>> take_pending_copies();

  KvCacheStats stats() const;
  const BlockPool& pool() const { return pool_; }

  // Pool invariants, plus: every block's ref count equals the number of table entries naming
  // it, and committed blocks are cached. Throws std::logic_error.
  void check_invariants() const;

 private:
  struct Sequence {
    std::vector<int> blocks;
    int num_committed = 0;  // leading blocks registered in the prefix cache
    BlockHash last_hash = kRootBlockHash;  // chain state after the committed blocks
    uint64_t last_uid = 0;
    uint64_t extra_key = 0;  // see hash_block
  };

  BlockPool pool_;
  int block_size_;
  BlockHasher hasher_;
  std::unordered_map<SeqId, Sequence> seqs_;
  std::vector<std::pair<int, int>> pending_copies_;
  uint64_t prefix_query_tokens_ = 0;
  uint64_t prefix_hit_tokens_ = 0;
  uint64_t cow_copies_ = 0;
};

}  // namespace toolgate::engine
