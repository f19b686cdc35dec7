// Property tests: thousands of random operations against KvCacheManager and Scheduler with a
// fake runner that "computes" K/V by writing, into each token's slot, a fingerprint of the whole
// prefix ending at that token. Reading those slots back through a block table proves that
// prefix hits, copy-on-write and preemption hand every sequence exactly its own K/V.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>
#include <vector>

#include "engine/kv/kv_cache_manager.h"
#include "engine/scheduler/scheduler.h"

namespace toolgate::engine {
namespace {

// Independent of hash_block on purpose.
uint64_t fingerprint(std::span<const int32_t> tokens, size_t pos) {
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i <= pos; ++i) {
    h ^= static_cast<uint32_t>(tokens[i]) + 0x100000000ull * (i + 1);
    h *= 1099511628211ull;
    h ^= h >> 29;
  }
  return h;
}

class FakeKv {
 public:
  FakeKv(int num_blocks, int block_size)
      : block_size_(block_size), slots_(num_blocks, std::vector<uint64_t>(block_size, 0)) {}

  void copy(const std::vector<std::pair<int, int>>& copies) {
    for (auto [src, dst] : copies) slots_[dst] = slots_[src];
  }

  // Computes tokens [num_computed, num_computed + num_new). Writing a block that anyone else
  // holds, or that the prefix cache advertises, would corrupt another sequence.
  void write(const BlockPool& pool, const std::vector<int>& table,
             std::span<const int32_t> tokens, int num_computed, int num_new) {
    for (int p = num_computed; p < num_computed + num_new; ++p) {
      ASSERT_LT(p / block_size_, static_cast<int>(table.size()));
      const int b = table[p / block_size_];
      ASSERT_EQ(pool.ref_count(b), 1) << "write into shared block " << b;
      ASSERT_FALSE(pool.is_cached(b)) << "write into cached block " << b;
      slots_[b][p % block_size_] = fingerprint(tokens, p);
    }
  }

  void verify(const std::vector<int>& table, std::span<const int32_t> tokens,
              int num_computed) const {
    // Checking every position is O(n^2); the last slot of each block plus the last token
    // pins each block to its exact prefix.
    for (int p = 0; p < num_computed; ++p) {
      if (p % block_size_ != block_size_ - 1 && p != num_computed - 1) continue;
      ASSERT_EQ(slots_[table[p / block_size_]][p % block_size_], fingerprint(tokens, p))
          << "wrong K/V at position " << p;
    }
  }

 private:
  int block_size_;
  std::vector<std::vector<uint64_t>> slots_;
};

// Few distinct tokens and a few shared stems: identical blocks under different parents, long
// shared prefixes, and prompts that end exactly on block boundaries all occur often.
std::vector<int32_t> random_prompt(std::mt19937_64& rng,
                                   const std::vector<std::vector<int32_t>>& stems, int max_len) {
  std::vector<int32_t> t;
  if (rng() % 4 != 0) {
    const auto& stem = stems[rng() % stems.size()];
    t.assign(stem.begin(), stem.begin() + rng() % (stem.size() + 1));
  }
  const int extra = 1 + static_cast<int>(rng() % 24);
  for (int i = 0; i < extra; ++i) t.push_back(static_cast<int32_t>(rng() % 3));
  if (static_cast<int>(t.size()) > max_len) t.resize(max_len);
  return t;
}

std::vector<std::vector<int32_t>> make_stems(std::mt19937_64& rng) {
  std::vector<std::vector<int32_t>> stems(4);
  for (auto& s : stems)
    for (int i = 0; i < 40; ++i) s.push_back(static_cast<int32_t>(rng() % 3));
  return stems;
}

// Deliberately terrible: 16 possible values. Exactness must come from the stored keys.
BlockHash weak_hash(BlockHash parent, std::span<const int32_t> tokens, uint64_t extra) {
  return BlockHash{hash_block(parent, tokens, extra).value & 0xf};
}

// ---------------------------------------------------------------------------------------------
// KvCacheManager driven directly: chunked allocation, commits, forks, frees.

struct ManagerCase {
  uint64_t seed;
  int num_blocks;
  int block_size;
  bool prefix_caching;
  BlockHasher hasher;
};

class KvCacheManagerProperty : public ::testing::TestWithParam<ManagerCase> {};

TEST_P(KvCacheManagerProperty, RandomOperationsKeepInvariantsAndEverySequencesOwnKv) {
  const ManagerCase c = GetParam();
  std::mt19937_64 rng(c.seed);
  KvCacheManager kv(c.num_blocks, c.block_size, c.prefix_caching, c.hasher);
  FakeKv fake(c.num_blocks, c.block_size);
  const auto stems = make_stems(rng);
  struct Seq {
    std::vector<int32_t> tokens;
    int num_computed = 0;
  };
  std::map<SeqId, Seq> seqs;
  SeqId next_id = 1;
  int failed_allocations = 0;

  for (int op = 0; op < 4000; ++op) {
    const int kind = static_cast<int>(rng() % 10);
    if (kind <= 2 || seqs.empty()) {  // new sequence: first chunk, with its cached prefix
      Seq s{random_prompt(rng, stems, 64), 0};
      const CachedPrefix prefix = kv.find_cached_prefix(s.tokens);
      ASSERT_LT(prefix.num_tokens, static_cast<int>(s.tokens.size()));
      const int remaining = static_cast<int>(s.tokens.size()) - prefix.num_tokens;
      const int num_new = 1 + static_cast<int>(rng() % remaining);
      if (kv.allocate(next_id, s.tokens, prefix.num_tokens, num_new, &prefix)) {
        s.num_computed = prefix.num_tokens;
        fake.verify(kv.block_table(next_id), s.tokens, s.num_computed);
        fake.copy(kv.take_pending_copies());
        fake.write(kv.pool(), kv.block_table(next_id), s.tokens, s.num_computed, num_new);
        s.num_computed += num_new;
        kv.commit(next_id, s.tokens, s.num_computed);
        seqs.emplace(next_id, std::move(s));
      } else {
        ++failed_allocations;
        ASSERT_FALSE(kv.contains(next_id));
      }
      ++next_id;
    } else {
      auto it = seqs.begin();
      std::advance(it, rng() % seqs.size());
      const SeqId id = it->first;
      Seq& s = it->second;
      if (kind <= 5) {  // continue: next chunk, or a sampled token then its decode
        if (s.num_computed == static_cast<int>(s.tokens.size()))
          s.tokens.push_back(static_cast<int32_t>(rng() % 3));
        const int remaining = static_cast<int>(s.tokens.size()) - s.num_computed;
        const int num_new = 1 + static_cast<int>(rng() % remaining);
        const auto before = kv.block_table(id);
        if (kv.allocate(id, s.tokens, s.num_computed, num_new)) {
          fake.copy(kv.take_pending_copies());
          fake.write(kv.pool(), kv.block_table(id), s.tokens, s.num_computed, num_new);
          s.num_computed += num_new;
          kv.commit(id, s.tokens, s.num_computed);
        } else {
          ++failed_allocations;
          ASSERT_EQ(kv.block_table(id), before);
        }
      } else if (kind <= 7) {  // fork: an n > 1 sibling
        const SeqId child = next_id++;
        kv.fork(id, child);
        seqs.emplace(child, Seq{s});
      } else {
        kv.free(id);
        seqs.erase(it);
      }
    }
    ASSERT_NO_THROW(kv.check_invariants()) << "op " << op;
    for (const auto& [id, s] : seqs) fake.verify(kv.block_table(id), s.tokens, s.num_computed);
    if (HasFatalFailure()) return;
  }
  for (const auto& [id, s] : seqs) kv.free(id);
  kv.check_invariants();
  EXPECT_EQ(kv.pool().num_free(), c.num_blocks);
  for (int b = 0; b < c.num_blocks; ++b) EXPECT_EQ(kv.pool().ref_count(b), 0);
  EXPECT_EQ(kv.num_sequences(), 0);
  EXPECT_GT(failed_allocations, 0) << "budget too loose to exercise the failure path";
  if (c.block_size > 1) {  // with 1-token blocks no block is ever partial
    EXPECT_GT(kv.stats().cow_copies, 0u);
  }
  if (c.prefix_caching) {
    EXPECT_GT(kv.stats().prefix_hit_tokens, 0u);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Seeds, KvCacheManagerProperty,
    ::testing::Values(ManagerCase{1, 48, 4, true, hash_block},  //
                      ManagerCase{2, 64, 1, true, hash_block},  //
                      ManagerCase{3, 32, 16, true, hash_block},
                      ManagerCase{4, 48, 4, true, weak_hash},  // collisions everywhere
                      ManagerCase{5, 40, 2, true, weak_hash},
                      ManagerCase{6, 48, 4, false, hash_block}));

// ---------------------------------------------------------------------------------------------
// Scheduler driven like the engine loop, with clients adding, aborting and forking.

struct SchedulerCase {
  uint64_t seed;
  int num_blocks;
  int block_size;
  int max_tokens_per_step;
  int max_num_seqs;
  bool prefix_caching;
  BlockHasher hasher;
};

class SchedulerProperty : public ::testing::TestWithParam<SchedulerCase> {};

TEST_P(SchedulerProperty, RandomTrafficNeverLeaksNeverCorruptsAndAlwaysFinishes) {
  const SchedulerCase c = GetParam();
  std::mt19937_64 rng(c.seed);
  SchedulerConfig cfg;
  cfg.num_blocks = c.num_blocks;
  cfg.block_size = c.block_size;
  cfg.max_tokens_per_step = c.max_tokens_per_step;
  cfg.max_num_seqs = c.max_num_seqs;
  cfg.max_model_len = 96;
  cfg.prefix_caching = c.prefix_caching;
  Scheduler s(cfg, c.hasher);
  FakeKv fake(c.num_blocks, c.block_size);
  const auto stems = make_stems(rng);
  std::set<SeqId> live;
  SeqId next_id = 1;
  int rejected = 0;
  int finished = 0;
  int forks = 0;

  auto run_step = [&] {
    // Running sequences with one token left are decodes: they must lead the batch.
    std::set<SeqId> decodes;
    for (SeqId id : live)
      if (s.kv().contains(id) && s.tokens(id).size() == static_cast<size_t>(s.num_computed(id)) + 1)
        decodes.insert(id);
    const SchedulerOutput out = s.schedule();
    ASSERT_LE(out.num_tokens, cfg.max_tokens_per_step);
    ASSERT_LE(static_cast<int>(out.seqs.size()), cfg.max_num_seqs);
    int sum = 0;
    bool seen_prefill = false;
    std::set<SeqId> ids;
    for (const ScheduledSeq& q : out.seqs) {
      ASSERT_TRUE(ids.insert(q.id).second) << "scheduled twice";
      ASSERT_GE(q.num_new, 1);
      sum += q.num_new;
      if (decodes.contains(q.id)) {
        ASSERT_FALSE(seen_prefill) << "decode of " << q.id << " scheduled after a prefill";
      } else {
        seen_prefill = true;
      }
      ASSERT_EQ(q.samples, q.num_computed + q.num_new == static_cast<int>(s.tokens(q.id).size()));
      ASSERT_EQ(s.num_computed(q.id), q.num_computed);
    }
    ASSERT_EQ(sum, out.num_tokens);
    for (SeqId p : out.preempted) {
      ASSERT_FALSE(ids.contains(p));
      ASSERT_TRUE(s.block_table(p).empty());
    }
    fake.copy(out.block_copies);
    for (const ScheduledSeq& q : out.seqs) {
      // Tokens already in the cache (a prefix hit) must be this sequence's own K/V.
      fake.verify(s.block_table(q.id), s.tokens(q.id), q.num_computed);
      fake.write(s.kv().pool(), s.block_table(q.id), s.tokens(q.id), q.num_computed, q.num_new);
    }
    s.on_step_done(out);
    for (const ScheduledSeq& q : out.seqs) {
      if (!q.samples) continue;
      if (rng() % 12 == 0) {  // stop token
        s.finish(q.id);
        live.erase(q.id);
        ++finished;
        continue;
      }
      try {
        s.append_token(q.id, static_cast<int32_t>(rng() % 3));
      } catch (const std::logic_error&) {  // max_new_tokens reached
        s.finish(q.id);
        live.erase(q.id);
        ++finished;
        continue;
      }
      if (rng() % 10 == 0 && static_cast<int>(live.size()) < 3 * cfg.max_num_seqs) {
        // n > 1: a sibling sampled from the same logits, fork before its token is appended.
        const SeqId child = next_id++;
        std::vector<int32_t> t = s.tokens(q.id);
        s.fork(q.id, child);
        live.insert(child);
        ++forks;
        ASSERT_EQ(s.tokens(child), t);
      }
    }
  };

  for (int op = 0; op < 3000; ++op) {
    const int kind = static_cast<int>(rng() % 10);
    if (kind <= 2 && static_cast<int>(live.size()) < 3 * cfg.max_num_seqs) {
      const std::vector<int32_t> prompt = random_prompt(rng, stems, 80);
      const int max_new = 1 + static_cast<int>(rng() % 48);
      const int total = static_cast<int>(prompt.size()) + max_new;
      const bool fits = total <= cfg.max_model_len &&
                        (total + cfg.block_size - 1) / cfg.block_size <= cfg.num_blocks;
      if (fits) {
        s.add(next_id, prompt, max_new);
        live.insert(next_id);
      } else {
        ASSERT_THROW(s.add(next_id, prompt, max_new), std::invalid_argument);
        ++rejected;
      }
      ++next_id;
    } else if (kind == 3 && !live.empty()) {
      auto it = live.begin();
      std::advance(it, rng() % live.size());
      const int used = s.stats().kv.blocks_used;
      const int held = static_cast<int>(s.block_table(*it).size());
      s.abort(*it);
      ASSERT_LE(s.stats().kv.blocks_used, used);
      if (held == 0) {
        ASSERT_EQ(s.stats().kv.blocks_used, used);
      }
      live.erase(it);
    } else {
      run_step();
    }
    if (HasFatalFailure()) return;
    ASSERT_NO_THROW(s.check_invariants()) << "op " << op;
    for (SeqId id : live) fake.verify(s.block_table(id), s.tokens(id), s.num_computed(id));
    if (HasFatalFailure()) return;
  }

  // Drain: no new traffic; everything must complete without failing a request.
  int steps = 0;
  while (!live.empty()) {
    run_step();
    if (HasFatalFailure()) return;
    ASSERT_NO_THROW(s.check_invariants());
    ASSERT_LT(++steps, 20000) << "no progress: livelock";
  }
  EXPECT_EQ(s.num_running(), 0);
  EXPECT_EQ(s.num_waiting(), 0);
  EXPECT_EQ(s.kv().pool().num_free(), c.num_blocks);
  for (int b = 0; b < c.num_blocks; ++b) EXPECT_EQ(s.kv().pool().ref_count(b), 0);
  EXPECT_EQ(s.kv().num_sequences(), 0);
  // The traffic really exercised what it is meant to.
  const SchedulerStats st = s.stats();
  RecordProperty("steps", static_cast<int>(st.num_steps));
  RecordProperty("preemptions", static_cast<int>(st.num_preemptions));
  RecordProperty("prefix_hit_tokens", static_cast<int>(st.kv.prefix_hit_tokens));
  RecordProperty("cow_copies", static_cast<int>(st.kv.cow_copies));
  EXPECT_GT(s.stats().num_preemptions, 0u);
  EXPECT_GT(rejected, 0);
  EXPECT_GT(finished, 0);
  EXPECT_GT(forks, 0);
  if (c.prefix_caching) {
    EXPECT_GT(s.stats().kv.prefix_hit_tokens, 0u);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Seeds, SchedulerProperty,
    ::testing::Values(SchedulerCase{11, 24, 4, 32, 6, true, hash_block},
                      SchedulerCase{12, 12, 8, 16, 4, true, hash_block},
                      SchedulerCase{13, 40, 2, 24, 8, true, hash_block},
                      SchedulerCase{14, 24, 4, 32, 6, true, weak_hash},
                      SchedulerCase{15, 24, 4, 32, 6, false, hash_block},
                      SchedulerCase{16, 7, 16, 64, 4, true, hash_block}));

}  // namespace
}  // namespace toolgate::engine
