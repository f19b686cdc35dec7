// BlockPool: ref counts, the LRU free queue, exact prefix-cache lookups.
#include "engine/kv/block_pool.h"

#include <gtest/gtest.h>

#include <initializer_list>
#include <stdexcept>
#include <vector>

namespace toolgate::engine {
namespace {

// A chain of cached blocks as KvCacheManager would register them.
struct Chain {
  std::vector<std::vector<int32_t>> tokens;
  std::vector<BlockHash> hashes;

  Chain(std::initializer_list<std::vector<int32_t>> t) : tokens(t) {
    BlockHash h = kRootBlockHash;
    for (const auto& b : tokens) {
      h = hash_block(h, b, 0);
      hashes.push_back(h);
    }
  }
  // Caches blocks[i] as link i of the chain; returns the content ids.
  std::vector<uint64_t> cache(BlockPool& pool, const std::vector<int>& blocks) const {
    std::vector<uint64_t> uids;
    uint64_t parent = 0;
    for (size_t i = 0; i < blocks.size(); ++i) {
      parent = pool.cache(blocks[i], BlockKey{hashes[i], parent, 0, tokens[i]});
      uids.push_back(parent);
    }
    return uids;
  }
  std::optional<int> lookup(const BlockPool& pool, size_t i, uint64_t parent_uid) const {
    return pool.lookup(BlockKey{hashes[i], parent_uid, 0, tokens[i]});
  }
};

TEST(BlockPool, AllocatesFreshBlocksInIdOrderWithRefCountOne) {
  BlockPool pool(4, true);
  EXPECT_EQ(pool.allocate(3), (std::vector<int>{0, 1, 2}));
  EXPECT_EQ(pool.num_free(), 1);
  EXPECT_EQ(pool.ref_count(1), 1);
  EXPECT_EQ(pool.ref_count(3), 0);
  pool.check_invariants();
}

TEST(BlockPool, AllocatingMoreThanFreeThrowsAndChangesNothing) {
  BlockPool pool(4, true);
  pool.allocate(3);
  EXPECT_THROW(pool.allocate(2), std::runtime_error);
  EXPECT_EQ(pool.num_free(), 1);
  pool.check_invariants();
}

TEST(BlockPool, SharedBlockReturnsToFreeQueueOnlyWhenLastReferenceDrops) {
  BlockPool pool(2, true);
  const std::vector<int> b = pool.allocate(1);
  pool.touch(b);
  EXPECT_EQ(pool.ref_count(b[0]), 2);
  pool.free(b);
  EXPECT_EQ(pool.num_free(), 1);
  pool.free(b);
  EXPECT_EQ(pool.num_free(), 2);
  EXPECT_THROW(pool.free(b), std::logic_error);  // double free is caught
  pool.check_invariants();
}

TEST(BlockPool, FreedChainIsEvictedTailFirstSoSharedPrefixSurvivesLongest) {
  BlockPool pool(3, true);
  const Chain chain({{1, 2}, {3, 4}, {5, 6}});
  const std::vector<int> blocks = pool.allocate(3);
  const std::vector<uint64_t> uids = chain.cache(pool, blocks);
  pool.free(blocks);
  EXPECT_EQ(pool.num_cached_free(), 3);
  EXPECT_EQ(pool.free_queue_order(), (std::vector<int>{blocks[2], blocks[1], blocks[0]}));

  EXPECT_EQ(pool.allocate(1), (std::vector<int>{blocks[2]}));
  EXPECT_FALSE(pool.is_cached(blocks[2]));  // evicted on reuse
  EXPECT_FALSE(chain.lookup(pool, 2, uids[1]).has_value());
  EXPECT_EQ(chain.lookup(pool, 0, 0), blocks[0]);  // the prefix still hits
  EXPECT_EQ(chain.lookup(pool, 1, uids[0]), blocks[1]);
  EXPECT_EQ(pool.allocate(1), (std::vector<int>{blocks[1]}));
  EXPECT_EQ(chain.lookup(pool, 0, 0), blocks[0]);
  pool.check_invariants();
}

TEST(BlockPool, UncachedFreedBlocksAreReusedBeforeCachedOnes) {
  BlockPool pool(4, true);
  const Chain chain({{7}});
  const std::vector<int> blocks = pool.allocate(4);
  chain.cache(pool, {blocks[0]});
  pool.free(blocks);  // blocks[0] cached, the rest hold nothing reusable
  const std::vector<int> order = pool.free_queue_order();
  ASSERT_EQ(order.size(), 4u);
  EXPECT_EQ(order.back(), blocks[0]);
  pool.allocate(3);
  EXPECT_EQ(chain.lookup(pool, 0, 0), blocks[0]);
  pool.check_invariants();
}

TEST(BlockPool, TouchUnlinksCachedFreeBlockInPlace) {
  BlockPool pool(4, true);
  const Chain chain({{1}, {2}, {3}});
  const std::vector<int> blocks = pool.allocate(3);
  chain.cache(pool, blocks);
  pool.free(blocks);
  const int middle = blocks[1];
  pool.touch(std::vector<int>{middle});
  EXPECT_EQ(pool.ref_count(middle), 1);
  EXPECT_EQ(pool.num_free(), 3);
  EXPECT_EQ(pool.num_cached_free(), 2);
  EXPECT_TRUE(pool.is_cached(middle));  // a hit keeps the content
  for (int b : pool.free_queue_order()) EXPECT_NE(b, middle);
  pool.check_invariants();
}

TEST(BlockPool, LookupDemandsSameTokensAndSameParentNotJustSameHash) {
  BlockPool pool(4, true);
  const BlockHash h{42};
  const std::vector<int32_t> tokens = {1, 2, 3};
  const std::vector<int32_t> other = {1, 2, 4};
  const int b = pool.allocate(1)[0];
  const uint64_t uid = pool.cache(b, BlockKey{h, 0, 0, tokens});
  EXPECT_EQ(pool.lookup(BlockKey{h, 0, 0, tokens}), b);
  EXPECT_FALSE(pool.lookup(BlockKey{h, 0, 0, other}).has_value());
  EXPECT_FALSE(pool.lookup(BlockKey{h, uid + 7, 0, tokens}).has_value());  // other parent
  EXPECT_FALSE(pool.lookup(BlockKey{h, 0, 1, tokens}).has_value());        // other extra key
  EXPECT_FALSE(pool.lookup(BlockKey{BlockHash{43}, 0, 0, tokens}).has_value());
}

TEST(BlockPool, IdenticalContentCachedTwiceSharesOneContentId) {
  BlockPool pool(4, true);
  const std::vector<int32_t> tokens = {5, 6};
  const BlockHash h = hash_block(kRootBlockHash, tokens, 0);
  const std::vector<int> blocks = pool.allocate(2);
  const uint64_t a = pool.cache(blocks[0], BlockKey{h, 0, 0, tokens});
  const uint64_t b = pool.cache(blocks[1], BlockKey{h, 0, 0, tokens});
  EXPECT_EQ(a, b);
  EXPECT_EQ(pool.num_cached(), 2);
  pool.free(std::vector<int>{blocks[0]});
  pool.allocate(3);  // the two never-used blocks, then blocks[0] (evicted)
  EXPECT_FALSE(pool.is_cached(blocks[0]));
  EXPECT_EQ(pool.lookup(BlockKey{h, 0, 0, tokens}), blocks[1]);
  pool.check_invariants();
}

TEST(BlockPool, CachingDisabledNeverHits) {
  BlockPool pool(2, false);
  const std::vector<int32_t> tokens = {1};
  const BlockHash h = hash_block(kRootBlockHash, tokens, 0);
  const int b = pool.allocate(1)[0];
  EXPECT_EQ(pool.cache(b, BlockKey{h, 0, 0, tokens}), 0u);
  EXPECT_FALSE(pool.lookup(BlockKey{h, 0, 0, tokens}).has_value());
  pool.check_invariants();
}

TEST(BlockHash, ChainsThroughParentAndExtraKey) {
  const std::vector<int32_t> t = {1, 2, 3};
  const BlockHash a = hash_block(kRootBlockHash, t, 0);
  EXPECT_EQ(a, hash_block(kRootBlockHash, t, 0));
  EXPECT_NE(a, hash_block(BlockHash{1}, t, 0));
  EXPECT_NE(a, hash_block(kRootBlockHash, t, 1));
  EXPECT_NE(a, hash_block(kRootBlockHash, std::vector<int32_t>{1, 2, 4}, 0));
}

}  // namespace
}  // namespace toolgate::engine
