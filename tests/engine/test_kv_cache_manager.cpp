// KvCacheManager: block tables, prefix reuse, copy-on-write, no side effects on failure.
#include "engine/kv/kv_cache_manager.h"

#include <gtest/gtest.h>

#include <numeric>
#include <vector>

namespace toolgate::engine {
namespace {

std::vector<int32_t> iota_tokens(int n, int32_t first = 100) {
  std::vector<int32_t> t(n);
  std::iota(t.begin(), t.end(), first);
  return t;
}

// Prefills the whole prompt in one step and commits it, as the scheduler would.
void prefill(KvCacheManager& kv, SeqId id, const std::vector<int32_t>& tokens) {
  const CachedPrefix prefix = kv.find_cached_prefix(tokens);
  ASSERT_TRUE(kv.allocate(id, tokens, prefix.num_tokens,
                          static_cast<int>(tokens.size()) - prefix.num_tokens, &prefix));
  kv.commit(id, tokens, static_cast<int>(tokens.size()));
}

TEST(KvCacheManager, AllocateCoversComputedPlusNewTokens) {
  KvCacheManager kv(8, 16, true);
  const auto t = iota_tokens(40);
  ASSERT_TRUE(kv.allocate(1, t, 0, 17));
  EXPECT_EQ(kv.block_table(1).size(), 2u);
  ASSERT_TRUE(kv.allocate(1, t, 17, 23));
  EXPECT_EQ(kv.block_table(1).size(), 3u);
  ASSERT_TRUE(kv.allocate(1, t, 40, 0));
  EXPECT_EQ(kv.block_table(1).size(), 3u);
  kv.check_invariants();
}

TEST(KvCacheManager, IdenticalPromptReusesCachedFullBlocks) {
  KvCacheManager kv(8, 16, true);
  const auto t = iota_tokens(40);
  prefill(kv, 1, t);
  const CachedPrefix prefix = kv.find_cached_prefix(t);
  EXPECT_EQ(prefix.num_tokens, 32);
  ASSERT_EQ(prefix.blocks.size(), 2u);
  ASSERT_TRUE(kv.allocate(2, t, 32, 8, &prefix));
  const auto& a = kv.block_table(1);
  const auto& b = kv.block_table(2);
  EXPECT_EQ(b[0], a[0]);
  EXPECT_EQ(b[1], a[1]);
  EXPECT_NE(b[2], a[2]);  // the last partial block is never shared through the cache
  EXPECT_EQ(kv.pool().ref_count(a[0]), 2);
  EXPECT_EQ(kv.stats().prefix_hit_tokens, 32u);
  EXPECT_EQ(kv.stats().prefix_query_tokens, 80u);
  kv.check_invariants();
}

TEST(KvCacheManager, CachedPrefixAlwaysLeavesOneTokenToCompute) {
  KvCacheManager kv(8, 16, true);
  const auto t = iota_tokens(32);
  prefill(kv, 1, t);
  EXPECT_EQ(kv.find_cached_prefix(t).num_tokens, 16);
  auto longer = t;
  longer.push_back(7);
  EXPECT_EQ(kv.find_cached_prefix(longer).num_tokens, 32);
}

TEST(KvCacheManager, PrefixStopsAtFirstDifferingBlock) {
  KvCacheManager kv(8, 4, true);
  const std::vector<int32_t> a = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13};
  prefill(kv, 1, a);
  std::vector<int32_t> b = a;
  b[5] = 99;  // second block differs; the third is identical but follows another prefix
  EXPECT_EQ(kv.find_cached_prefix(b).num_tokens, 4);
}

TEST(KvCacheManager, FreedPrefixBlockIsReusedByIdenticalPrompt) {
  KvCacheManager kv(8, 16, true);
  const auto t = iota_tokens(40);
  prefill(kv, 1, t);
  const std::vector<int> old = kv.block_table(1);
  kv.free(1);
  EXPECT_EQ(kv.stats().blocks_used, 0);
  EXPECT_EQ(kv.stats().blocks_cached_free, 2);
  const CachedPrefix prefix = kv.find_cached_prefix(t);
  ASSERT_TRUE(kv.allocate(2, t, prefix.num_tokens, 40 - prefix.num_tokens, &prefix));
  EXPECT_EQ(kv.block_table(2)[0], old[0]);
  EXPECT_EQ(kv.block_table(2)[1], old[1]);
  EXPECT_EQ(kv.stats().blocks_cached_free, 0);
  kv.check_invariants();
}

TEST(KvCacheManager, FailedAllocateHasNoSideEffects) {
  KvCacheManager kv(4, 4, true);
  const auto t = iota_tokens(20);
  ASSERT_TRUE(kv.allocate(1, t, 0, 12));
  kv.commit(1, t, 12);
  const auto before = kv.block_table(1);
  const auto stats = kv.stats();
  EXPECT_FALSE(kv.allocate(1, t, 12, 8));   // needs 2 more, 1 free
  EXPECT_FALSE(kv.allocate(2, t, 0, 8));    // new sequence, 2 blocks
  EXPECT_FALSE(kv.contains(2));
  EXPECT_EQ(kv.block_table(1), before);
  EXPECT_EQ(kv.stats().blocks_used, stats.blocks_used);
  EXPECT_EQ(kv.stats().prefix_query_tokens, stats.prefix_query_tokens);
  EXPECT_TRUE(kv.take_pending_copies().empty());
  kv.check_invariants();
}

TEST(KvCacheManager, EvictableCachedBlocksCountAsFree) {
  KvCacheManager kv(3, 4, true);
  const auto a = iota_tokens(12, 0);
  prefill(kv, 1, a);
  kv.free(1);
  EXPECT_EQ(kv.stats().blocks_cached_free, 3);
  const auto b = iota_tokens(12, 500);
  ASSERT_TRUE(kv.allocate(2, b, 0, 12));
  EXPECT_EQ(kv.stats().blocks_cached_free, 0);
  EXPECT_EQ(kv.find_cached_prefix(a).num_tokens, 0);
  kv.check_invariants();
}

TEST(KvCacheManager, AdoptingFreeCachedPrefixCountsAgainstFreeBlocks) {
  KvCacheManager kv(3, 4, true);
  const auto a = iota_tokens(9, 0);  // 2 full blocks + 1 token
  prefill(kv, 1, a);
  kv.free(1);  // 2 cached free + 1 plain free
  const CachedPrefix prefix = kv.find_cached_prefix(a);
  ASSERT_EQ(prefix.num_tokens, 8);
  // Adopting both cached blocks leaves one free block: enough for token 8, not for 8..12.
  auto longer = iota_tokens(13, 0);
  EXPECT_FALSE(kv.allocate(2, longer, 8, 5, &prefix));
  EXPECT_EQ(kv.stats().blocks_cached_free, 2);
  EXPECT_TRUE(kv.allocate(2, a, 8, 1, &prefix));
  kv.check_invariants();
}

TEST(KvCacheManager, ForkSharesEveryBlockIncludingThePartialLast) {
  KvCacheManager kv(8, 16, true);
  const auto t = iota_tokens(40);
  prefill(kv, 1, t);
  kv.fork(1, 2);
  EXPECT_EQ(kv.block_table(2), kv.block_table(1));
  for (int b : kv.block_table(1)) EXPECT_EQ(kv.pool().ref_count(b), 2);
  kv.check_invariants();
}

TEST(KvCacheManager, WritingASharedBlockCopiesItFirst) {
  KvCacheManager kv(8, 16, true);
  auto t = iota_tokens(40);
  prefill(kv, 1, t);
  kv.fork(1, 2);
  const std::vector<int> shared = kv.block_table(1);
  t.push_back(1);  // parent's sampled token goes to position 40, in the shared partial block
  ASSERT_TRUE(kv.allocate(1, t, 40, 1));
  const auto copies = kv.take_pending_copies();
  ASSERT_EQ(copies.size(), 1u);
  EXPECT_EQ(copies[0].first, shared[2]);
  EXPECT_EQ(copies[0].second, kv.block_table(1)[2]);
  EXPECT_NE(kv.block_table(1)[2], shared[2]);
  EXPECT_EQ(kv.block_table(1)[0], shared[0]);  // full blocks stay shared
  EXPECT_EQ(kv.block_table(2), shared);
  EXPECT_EQ(kv.pool().ref_count(shared[2]), 1);
  // The child is now the only holder of the original: it writes in place.
  ASSERT_TRUE(kv.allocate(2, t, 40, 1));
  EXPECT_TRUE(kv.take_pending_copies().empty());
  EXPECT_TRUE(kv.take_pending_copies().empty());  // taken once
  EXPECT_EQ(kv.stats().cow_copies, 1u);
  kv.check_invariants();
}

TEST(KvCacheManager, ForkAtBlockBoundaryNeedsNoCopy) {
  KvCacheManager kv(8, 16, true);
  auto t = iota_tokens(32);
  ASSERT_TRUE(kv.allocate(1, t, 0, 32));
  kv.commit(1, t, 32);
  kv.fork(1, 2);
  t.push_back(5);
  ASSERT_TRUE(kv.allocate(1, t, 32, 1));
  ASSERT_TRUE(kv.allocate(2, t, 32, 1));
  EXPECT_TRUE(kv.take_pending_copies().empty());
  EXPECT_NE(kv.block_table(1)[2], kv.block_table(2)[2]);
  kv.check_invariants();
}

TEST(KvCacheManager, CopyOnWriteFailsCleanlyWhenNoBlockIsFree) {
  KvCacheManager kv(3, 4, true);
  auto t = iota_tokens(6);
  ASSERT_TRUE(kv.allocate(1, t, 0, 6));
  kv.fork(1, 2);
  ASSERT_TRUE(kv.allocate(3, iota_tokens(4, 50), 0, 4));  // last free block
  t.push_back(9);
  EXPECT_FALSE(kv.allocate(1, t, 6, 1));
  EXPECT_TRUE(kv.take_pending_copies().empty());
  EXPECT_EQ(kv.block_table(1), kv.block_table(2));
  kv.check_invariants();
}

// Every key hashes the same: only the stored tokens and parent ids keep prefixes apart.
BlockHash colliding_hash(BlockHash, std::span<const int32_t>, uint64_t) { return BlockHash{7}; }

TEST(KvCacheManager, HashCollisionNeverGivesAFalsePrefixHit) {
  KvCacheManager kv(16, 2, true, colliding_hash);
  const std::vector<int32_t> a = {1, 1, 5, 5, 9};
  const std::vector<int32_t> c = {2, 2, 5, 5, 9};  // same second block after another first
  prefill(kv, 1, a);
  EXPECT_EQ(kv.find_cached_prefix(c).num_tokens, 0);
  EXPECT_EQ(kv.find_cached_prefix(std::vector<int32_t>{5, 5, 5}).num_tokens, 0);
  EXPECT_EQ(kv.find_cached_prefix(a).num_tokens, 4);  // true hits still work
  prefill(kv, 2, c);
  const CachedPrefix pc = kv.find_cached_prefix(c);
  ASSERT_EQ(pc.num_tokens, 4);
  EXPECT_EQ(pc.blocks, (std::vector<int>{kv.block_table(2)[0], kv.block_table(2)[1]}));
  const CachedPrefix pa = kv.find_cached_prefix(a);
  EXPECT_EQ(pa.blocks, (std::vector<int>{kv.block_table(1)[0], kv.block_table(1)[1]}));
  kv.check_invariants();
}

TEST(KvCacheManager, PrefixCachingOffNeverShares) {
  KvCacheManager kv(8, 4, false);
  const auto t = iota_tokens(9);
  prefill(kv, 1, t);
  EXPECT_EQ(kv.find_cached_prefix(t).num_tokens, 0);
  kv.free(1);
  EXPECT_EQ(kv.stats().blocks_cached_free, 0);
  kv.check_invariants();
}

TEST(KvCacheManager, FreeReturnsEveryBlockAtOnce) {
  KvCacheManager kv(8, 4, true);
  prefill(kv, 1, iota_tokens(10));
  kv.fork(1, 2);
  kv.free(1);
  EXPECT_EQ(kv.stats().blocks_used, 3);
  kv.free(2);
  EXPECT_EQ(kv.stats().blocks_used, 0);
  EXPECT_EQ(kv.pool().num_free(), 8);
  kv.free(2);  // unknown: ignored
  kv.check_invariants();
}

}  // namespace
}  // namespace toolgate::engine
