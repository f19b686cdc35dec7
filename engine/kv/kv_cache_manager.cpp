#include "engine/kv/kv_cache_manager.h"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace toolgate::engine {

KvCacheManager::KvCacheManager(int num_blocks, int block_size, bool prefix_caching,
                               BlockHasher hasher)
    : pool_(num_blocks, prefix_caching), block_size_(block_size), hasher_(hasher) {
  if (block_size <= 0) throw std::invalid_argument("KvCacheManager: block_size must be positive");
  if (hasher_ == nullptr) throw std::invalid_argument("KvCacheManager: null hasher");
}

CachedPrefix KvCacheManager::find_cached_prefix(std::span<const int32_t> tokens,
                                                uint64_t extra_key) const {
  CachedPrefix out;
  if (!prefix_caching() || tokens.empty()) return out;
  // (size - 1) / block_size: the last token always stays to be computed.
  const int max_blocks = static_cast<int>((tokens.size() - 1) / block_size_);
  BlockHash hash = kRootBlockHash;
  uint64_t parent_uid = 0;
  for (int i = 0; i < max_blocks; ++i) {
    const auto block_tokens = tokens.subspan(static_cast<size_t>(i) * block_size_, block_size_);
    hash = hasher_(hash, block_tokens, extra_key);
    const std::optional<int> hit =
        pool_.lookup(BlockKey{hash, parent_uid, extra_key, block_tokens});
    if (!hit) break;
    out.blocks.push_back(*hit);
    parent_uid = pool_.content_uid(*hit);
  }
  out.num_tokens = static_cast<int>(out.blocks.size()) * block_size_;
  return out;
}

bool KvCacheManager::allocate(SeqId id, std::span<const int32_t> tokens, int num_computed,
                              int num_new, const CachedPrefix* prefix, uint64_t extra_key) {
  if (num_computed < 0 || num_new < 0 ||
      static_cast<size_t>(num_computed) + num_new > tokens.size())
    throw std::invalid_argument("KvCacheManager::allocate: token range out of bounds");
  auto it = seqs_.find(id);
  const bool is_new = it == seqs_.end();
  if (prefix != nullptr) {
    if (!is_new)
      throw std::logic_error("KvCacheManager::allocate: prefix given for existing sequence " +
                             std::to_string(id));
    if (prefix->num_tokens != static_cast<int>(prefix->blocks.size()) * block_size_ ||
        prefix->num_tokens != num_computed)
      throw std::invalid_argument("KvCacheManager::allocate: prefix does not match num_computed");
    for (int b : prefix->blocks)
      if (!pool_.is_cached(b))
        throw std::logic_error("KvCacheManager::allocate: stale prefix (block evicted)");
  }

  const std::vector<int> no_blocks;
  const std::vector<int>& table = is_new ? no_blocks : it->second.blocks;
  const int have = is_new && prefix ? static_cast<int>(prefix->blocks.size())
                                    : static_cast<int>(table.size());
  const int want = blocks_for_tokens(num_computed + num_new);
  const int new_blocks = std::max(0, want - have);

  // Blocks this step writes into that are shared: each needs a private copy.
  std::vector<int> cow_indices;
  if (num_new > 0) {
    for (int i = num_computed / block_size_; i < std::min(want, static_cast<int>(table.size()));
         ++i)
      if (pool_.ref_count(table[i]) > 1) cow_indices.push_back(i);
  }
  // Touching a free cached prefix block takes it out of the free pool.
  int prefix_from_free = 0;
  if (prefix != nullptr)
    for (int b : prefix->blocks) prefix_from_free += pool_.ref_count(b) == 0;

  if (new_blocks + static_cast<int>(cow_indices.size()) + prefix_from_free > pool_.num_free())
    return false;

  // From here on nothing can fail.
  if (is_new) {
    it = seqs_.emplace(id, Sequence{}).first;
    it->second.extra_key = extra_key;
    if (prefix_caching()) {
      prefix_query_tokens_ += tokens.size();
      if (prefix != nullptr) prefix_hit_tokens_ += prefix->num_tokens;
    }
  }
  Sequence& seq = it->second;
  if (prefix != nullptr && !prefix->blocks.empty()) {
    // Touch before allocating so that allocation cannot evict the blocks we are adopting.
    pool_.touch(prefix->blocks);
    seq.blocks = prefix->blocks;
    seq.num_committed = static_cast<int>(prefix->blocks.size());
    seq.last_hash = pool_.cached_hash(seq.blocks.back());
    seq.last_uid = pool_.content_uid(seq.blocks.back());
  }
  for (int i : cow_indices) {
    const int src = seq.blocks[i];
    const int dst = pool_.allocate(1).front();
    const int one[] = {src};
    pool_.free(one);  // still referenced by the other holders
    seq.blocks[i] = dst;
    pending_copies_.emplace_back(src, dst);
    ++cow_copies_;
  }
  if (new_blocks > 0) {
    const std::vector<int> fresh = pool_.allocate(new_blocks);
    seq.blocks.insert(seq.blocks.end(), fresh.begin(), fresh.end());
  }
  return true;
}

void KvCacheManager::commit(SeqId id, std::span<const int32_t> tokens, int num_computed) {
  auto it = seqs_.find(id);
  if (it == seqs_.end())
    throw std::out_of_range("KvCacheManager::commit: unknown sequence " + std::to_string(id));
  if (num_computed < 0 || static_cast<size_t>(num_computed) > tokens.size())
    throw std::invalid_argument("KvCacheManager::commit: num_computed out of bounds");
  if (!prefix_caching()) return;
  Sequence& seq = it->second;
  const int full = std::min(num_computed / block_size_, static_cast<int>(seq.blocks.size()));
  for (int i = seq.num_committed; i < full; ++i) {
    const auto block_tokens = tokens.subspan(static_cast<size_t>(i) * block_size_, block_size_);
    const int b = seq.blocks[i];
    if (pool_.is_cached(b)) {
      // Shared with a fork sibling that committed it first: same content, adopt its identity.
      seq.last_hash = pool_.cached_hash(b);
      seq.last_uid = pool_.content_uid(b);
    } else {
      const BlockHash hash = hasher_(seq.last_hash, block_tokens, seq.extra_key);
      seq.last_uid = pool_.cache(b, BlockKey{hash, seq.last_uid, seq.extra_key, block_tokens});
      seq.last_hash = hash;
    }
    seq.num_committed = i + 1;
  }
}

void KvCacheManager::fork(SeqId parent, SeqId child) {
  auto it = seqs_.find(parent);
  if (it == seqs_.end())
    throw std::out_of_range("KvCacheManager::fork: unknown parent " + std::to_string(parent));
  if (seqs_.contains(child))
    throw std::invalid_argument("KvCacheManager::fork: child " + std::to_string(child) +
                                " already exists");
  Sequence copy = it->second;
  pool_.touch(copy.blocks);
  seqs_.emplace(child, std::move(copy));
}

void KvCacheManager::free(SeqId id) {
  auto it = seqs_.find(id);
  if (it == seqs_.end()) return;
  pool_.free(it->second.blocks);
  seqs_.erase(it);
}

void KvCacheManager::truncate(SeqId id, int num_tokens) {
  auto it = seqs_.find(id);
  if (it == seqs_.end())
    throw std::out_of_range("KvCacheManager::truncate: unknown sequence " + std::to_string(id));
  if (num_tokens < 0) throw std::invalid_argument("KvCacheManager::truncate: negative length");
  Sequence& seq = it->second;
  const int keep = blocks_for_tokens(num_tokens);
  if (keep < seq.num_committed)
    throw std::logic_error("KvCacheManager::truncate: sequence " + std::to_string(id) +
                           " would lose a committed block");
  if (keep >= static_cast<int>(seq.blocks.size())) return;
  pool_.free(std::span<const int>(seq.blocks).subspan(keep));
  seq.blocks.resize(keep);
}

const std::vector<int>& KvCacheManager::block_table(SeqId id) const {
  auto it = seqs_.find(id);
  if (it == seqs_.end())
    throw std::out_of_range("KvCacheManager::block_table: unknown sequence " + std::to_string(id));
  return it->second.blocks;
}

std::vector<std::pair<int, int>> KvCacheManager::take_pending_copies() {
  return std::exchange(pending_copies_, {});
}

KvCacheStats KvCacheManager::stats() const {
  KvCacheStats s;
  s.blocks_total = pool_.num_blocks();
  s.blocks_used = pool_.num_blocks() - pool_.num_free();
  s.blocks_cached_free = pool_.num_cached_free();
  s.prefix_query_tokens = prefix_query_tokens_;
  s.prefix_hit_tokens = prefix_hit_tokens_;
  s.cow_copies = cow_copies_;
  return s;
}

void KvCacheManager::check_invariants() const {
  pool_.check_invariants();
  auto fail = [](const std::string& what) {
    throw std::logic_error("KvCacheManager invariant: " + what);
  };
  std::vector<int> refs(pool_.num_blocks(), 0);
  for (const auto& [id, seq] : seqs_) {
    std::vector<int> sorted = seq.blocks;
    std::ranges::sort(sorted);
    if (std::ranges::adjacent_find(sorted) != sorted.end())
      fail("sequence " + std::to_string(id) + " holds a block twice");
    for (int b : seq.blocks) {
      if (b < 0 || b >= pool_.num_blocks()) fail("sequence " + std::to_string(id) + " bad block");
      ++refs[b];
    }
    if (seq.num_committed > static_cast<int>(seq.blocks.size()))
      fail("sequence " + std::to_string(id) + " committed more blocks than it holds");
    for (int i = 0; i < seq.num_committed; ++i)
      if (!pool_.is_cached(seq.blocks[i]))
        fail("sequence " + std::to_string(id) + " committed block " +
             std::to_string(seq.blocks[i]) + " is not cached");
  }
  for (int b = 0; b < pool_.num_blocks(); ++b)
    if (refs[b] != pool_.ref_count(b))
      fail("block " + std::to_string(b) + " has ref count " + std::to_string(pool_.ref_count(b)) +
           " but " + std::to_string(refs[b]) + " table entries");
}

}  // namespace toolgate::engine
