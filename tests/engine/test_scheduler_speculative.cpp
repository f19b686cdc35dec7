// Scheduler support for speculative decoding: proposed tokens ride in the decode row, rejected
// ones are rolled back with their blocks, and nothing rejected ever reaches the prefix cache.
#include <gtest/gtest.h>

#include <numeric>
#include <stdexcept>
#include <vector>

#include "engine/scheduler/scheduler.h"
#include "engine/speculative/adaptive_k.h"
#include "engine/speculative/prompt_lookup.h"
#include "scheduler_fixtures.h"

namespace toolgate::engine {
namespace {

using scheduler_test::config;
using scheduler_test::iota_tokens;

// Prefill `id` (prompt of n tokens) and append the first sampled token: it now awaits decode.
void prefill(Scheduler& s, SeqId id, int n, int max_new = 32) {
  s.add(id, iota_tokens(n), max_new);
  SchedulerOutput out = s.schedule();
  s.on_step_done(out);
  s.append_token(id, 7);
  s.check_invariants();
}

TEST(SchedulerSpeculative, ProposalsRideInTheDecodeRowAndAcceptedOnesStay) {
  Scheduler s(config(32));
  prefill(s, 1, 6);  // 6 prompt tokens + pending 7
  ASSERT_TRUE(s.awaits_decode(1));
  s.propose(1, {8, 9, 10});
  SchedulerOutput out = s.schedule();
  ASSERT_EQ(out.seqs.size(), 1u);
  EXPECT_EQ(out.seqs[0].num_computed, 6);
  EXPECT_EQ(out.seqs[0].num_new, 4);  // pending token + 3 proposals
  EXPECT_EQ(out.seqs[0].num_spec, 3);
  EXPECT_TRUE(out.seqs[0].samples);
  EXPECT_EQ(s.tokens(1), (std::vector<int32_t>{100, 101, 102, 103, 104, 105, 7, 8, 9, 10}));
  s.on_step_done(out);
  s.resolve_proposal(1, 2);  // 8, 9 accepted; 10 rejected
  s.append_token(1, 42);     // the model's own token in 10's place
  s.check_invariants();
  EXPECT_EQ(s.tokens(1), (std::vector<int32_t>{100, 101, 102, 103, 104, 105, 7, 8, 9, 42}));
  EXPECT_EQ(s.num_computed(1), 9);
  EXPECT_EQ(s.num_generated(1), 4);
  EXPECT_TRUE(s.awaits_decode(1));
}

TEST(SchedulerSpeculative, RejectedTailBlocksReturnToThePool) {
  Scheduler s(config(32, 4));
  prefill(s, 1, 4);  // one full block, pending token in block 1
  const int used_before = s.stats().kv.blocks_used;
  s.propose(1, iota_tokens(9, 500));  // pending + 9 = 10 tokens: positions 4..13, blocks 1..3
  SchedulerOutput out = s.schedule();
  EXPECT_EQ(s.stats().kv.blocks_used, used_before + 3);
  s.on_step_done(out);
  s.resolve_proposal(1, 0);  // everything rejected
  s.append_token(1, 3);
  s.check_invariants();
  EXPECT_EQ(s.num_computed(1), 5);
  EXPECT_EQ(s.block_table(1).size(), 2u);  // blocks for positions 0..4
  EXPECT_EQ(s.stats().kv.blocks_used, used_before + 1);
}

TEST(SchedulerSpeculative, RejectedTokensNeverReachThePrefixCache) {
  Scheduler s(config(32, 4));
  prefill(s, 1, 3);  // prompt 100..102, pending 7 at position 3
  s.propose(1, {501, 502, 503, 504, 505});  // would fill block 0 and block 1 with guesses
  SchedulerOutput out = s.schedule();
  s.on_step_done(out);
  // Before resolve only the block of kept tokens can be cached: block 0 = 100 101 102 7.
  EXPECT_EQ(s.kv().pool().num_cached(), 1);
  s.resolve_proposal(1, 1);  // 501 kept, 502.. rejected
  s.append_token(1, 9);
  s.check_invariants();
  EXPECT_EQ(s.kv().pool().num_cached(), 1);
  // A prompt that continues with the rejected guesses finds only block 0 in the cache.
  const std::vector<int32_t> probe = {100, 101, 102, 7, 501, 502, 503, 504, 1};
  EXPECT_EQ(s.kv().find_cached_prefix(probe).num_tokens, 4);
  // The kept path: 100 101 102 7 | 501 9 11 12 is cached once position 7 is computed.
  for (int32_t t : {11, 12, 13}) {
    SchedulerOutput o = s.schedule();
    s.on_step_done(o);
    s.append_token(1, t);
  }
  const std::vector<int32_t> kept = {100, 101, 102, 7, 501, 9, 11, 12, 1};
  EXPECT_EQ(s.kv().find_cached_prefix(kept).num_tokens, 8);
}

TEST(SchedulerSpeculative, ProposalsAreCutToMaxNewTokensBudgetAndContext) {
  SchedulerConfig c = config(64, 4);
  c.max_tokens_per_step = 4;
  Scheduler s(c);
  prefill(s, 1, 3, /*max_new=*/10);  // 1 generated so far
  s.propose(1, iota_tokens(20, 600));
  SchedulerOutput out = s.schedule();
  EXPECT_EQ(out.seqs[0].num_spec, 3);  // budget 4 = pending + 3
  s.on_step_done(out);
  s.resolve_proposal(1, 3);
  s.append_token(1, 1);  // 5 generated
  SchedulerConfig c2 = config(64, 4);
  Scheduler t(c2);
  prefill(t, 2, 3, /*max_new=*/4);  // 1 generated: at most 4 - 1 - 1 = 2 proposals fit
  t.propose(2, iota_tokens(20, 600));
  out = t.schedule();
  EXPECT_EQ(out.seqs[0].num_spec, 2);
  t.on_step_done(out);
  t.resolve_proposal(2, 2);
  t.append_token(2, 1);  // exactly max_new_tokens
  EXPECT_EQ(t.num_generated(2), 4);
  EXPECT_THROW(t.append_token(2, 1), std::logic_error);
}

TEST(SchedulerSpeculative, ProposalsForASequenceThatIsNotDecodingAreIgnored) {
  Scheduler s(config(32));
  s.add(1, iota_tokens(10), 8);
  EXPECT_FALSE(s.awaits_decode(1));  // waiting
  s.propose(1, {1, 2, 3});
  SchedulerOutput out = s.schedule();
  EXPECT_EQ(out.seqs[0].num_spec, 0);
  EXPECT_EQ(s.tokens(1).size(), 10u);
  s.on_step_done(out);
  EXPECT_THROW(s.resolve_proposal(1, 1), std::logic_error);  // nothing was proposed
}

TEST(SchedulerSpeculative, AnOfferLastsOneStep) {
  Scheduler s(config(32));
  prefill(s, 1, 5);
  s.propose(1, {1, 2});
  SchedulerOutput out = s.schedule();
  s.on_step_done(out);
  s.resolve_proposal(1, 2);
  s.append_token(1, 3);
  out = s.schedule();  // no new offer: a plain decode
  EXPECT_EQ(out.seqs[0].num_spec, 0);
  EXPECT_EQ(out.seqs[0].num_new, 1);
  s.on_step_done(out);
}

TEST(SchedulerSpeculative, SpeculationNeverPreemptsAndFinishingMidVerifyFreesEverything) {
  Scheduler s(config(3, 4));  // 12 token slots
  s.add(1, iota_tokens(4), 6);  // block 0
  s.add(2, iota_tokens(3), 4);  // block 1
  SchedulerOutput first = s.schedule();
  s.on_step_done(first);
  s.append_token(1, 7);  // pending at position 4: block 2
  s.append_token(2, 7);  // pending at position 3: block 1
  s.propose(1, {1, 2, 3, 4});  // would need a fourth block: no room, so a plain decode
  SchedulerOutput out = s.schedule();
  EXPECT_EQ(s.kv().pool().num_free(), 0);
  EXPECT_TRUE(out.preempted.empty());
  EXPECT_EQ(out.seqs.size(), 2u);
  for (const auto& q : out.seqs) EXPECT_EQ(q.num_spec, 0);
  s.on_step_done(out);
  s.append_token(1, 1);
  s.append_token(2, 1);
  s.check_invariants();
  s.propose(1, {1, 2});  // positions 6, 7: still block 2
  out = s.schedule();
  ASSERT_EQ(out.seqs[0].id, 1u);
  EXPECT_EQ(out.seqs[0].num_spec, 2);
  s.on_step_done(out);
  s.finish(1);  // e.g. a stop token among the accepted ones, or a cancel
  s.check_invariants();
  EXPECT_EQ(s.kv().pool().num_free() + s.stats().kv.blocks_used, 3);
  EXPECT_FALSE(s.contains(1));
}

TEST(PromptLookup, ProposesWhatFollowedTheLatestEarlierMatch) {
  //                                     a  b  c  d  a  b  e  f  a  b
  const std::vector<int32_t> ctx = {1, 2, 3, 4, 1, 2, 5, 6, 1, 2};
  EXPECT_EQ(propose_by_prompt_lookup(ctx, 3, 2, 4), (std::vector<int32_t>{5, 6, 1}));
  EXPECT_EQ(propose_by_prompt_lookup(ctx, 1, 2, 4), (std::vector<int32_t>{5}));
  // No earlier occurrence of any suffix n-gram: nothing to propose.
  EXPECT_TRUE(propose_by_prompt_lookup(std::vector<int32_t>{1, 2, 3}, 3, 2, 4).empty());
  EXPECT_TRUE(propose_by_prompt_lookup(ctx, 0, 2, 4).empty());
  // Proposals stop at the end of the context.
  EXPECT_EQ(propose_by_prompt_lookup(std::vector<int32_t>{7, 8, 9, 7, 8}, 5, 2, 2), (std::vector<int32_t>{9, 7, 8}));
}

TEST(AdaptiveK, GrowsWithAcceptanceAndStopsProposingWhenGuessesDoNotPay) {
  AdaptiveK k(8, /*row_cost=*/0.4, /*propose_cost=*/0.0);
  EXPECT_GE(k.next(), 1);  // the prior (0.75) pays for a few rows
  for (int i = 0; i < 60; ++i) k.update(8, 8);
  EXPECT_GE(k.next(), 7);  // the 8th row adds under 2%
  for (int i = 0; i < 60; ++i) k.update(4, 0);
  // Nothing is accepted: plain decoding, with a one-token probe every kProbeEvery steps.
  int probes = 0;
  for (int i = 0; i < 8 * AdaptiveK::kProbeEvery; ++i) probes += k.next();
  EXPECT_EQ(probes, 8);
}

TEST(AdaptiveK, AnExpensiveProposerNeedsHigherAcceptanceForTheSameK) {
  AdaptiveK cheap(8, 0.4, 0.0), costly(8, 0.4, 0.33);
  for (int i = 0; i < 60; ++i) {
    cheap.update(4, 3);  // a ~ 0.75
    costly.update(4, 3);
  }
  EXPECT_GT(cheap.next(), costly.next());
}

}  // namespace
}  // namespace toolgate::engine
