// Scheduler: continuous batching, chunked prefill, prefix reuse at admission, preemption.
#include "engine/scheduler/scheduler.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <stdexcept>
#include <vector>

#include "scheduler_fixtures.h"

namespace toolgate::engine {
namespace {

using scheduler_test::config;
using scheduler_test::iota_tokens;

const ScheduledSeq* find(const SchedulerOutput& out, SeqId id) {
  auto it = std::ranges::find(out.seqs, id, &ScheduledSeq::id);
  return it == out.seqs.end() ? nullptr : &*it;
}

// One engine step: schedule, "run", report, then append `token` to every sampling sequence.
SchedulerOutput step(Scheduler& s, int32_t token = 1) {
  SchedulerOutput out = s.schedule();
  s.on_step_done(out);
  for (const ScheduledSeq& q : out.seqs)
    if (q.samples) s.append_token(q.id, token);
  s.check_invariants();
  return out;
}

TEST(Scheduler, RejectsARequestThatCanNeverFit) {
  SchedulerConfig c = config(8, 4);  // 32 tokens of KV
  c.max_model_len = 40;
  Scheduler s(c);
  EXPECT_THROW(s.add(1, iota_tokens(30), 11), std::invalid_argument);  // > max_model_len
  EXPECT_THROW(s.add(2, iota_tokens(30), 3), std::invalid_argument);   // 9 blocks > 8
  EXPECT_THROW(s.add(3, {}, 3), std::invalid_argument);
  EXPECT_THROW(s.add(4, iota_tokens(3), 0), std::invalid_argument);
  s.add(5, iota_tokens(30), 2);  // exactly 8 blocks
  EXPECT_THROW(s.add(5, iota_tokens(3), 1), std::invalid_argument);  // id in use
  EXPECT_EQ(s.num_waiting(), 1);
}

TEST(Scheduler, ChunkedPrefillRespectsTheTokenBudget) {
  SchedulerConfig c = config(64, 4);
  c.max_tokens_per_step = 32;
  Scheduler s(c);
  s.add(1, iota_tokens(100), 4);
  std::vector<int> chunks;
  for (int i = 0; i < 4; ++i) {
    const SchedulerOutput out = step(s);
    ASSERT_EQ(out.seqs.size(), 1u);
    EXPECT_LE(out.num_tokens, 32);
    EXPECT_EQ(out.seqs[0].samples, i == 3);  // only the chunk that reaches the end samples
    chunks.push_back(out.seqs[0].num_new);
  }
  EXPECT_EQ(chunks, (std::vector<int>{32, 32, 32, 4}));
  EXPECT_EQ(s.num_computed(1), 100);
  EXPECT_EQ(s.tokens(1).size(), 101u);
  const SchedulerOutput decode = step(s);
  ASSERT_EQ(decode.seqs.size(), 1u);
  EXPECT_EQ(decode.seqs[0].num_new, 1);
  EXPECT_EQ(decode.seqs[0].num_computed, 100);
}

TEST(Scheduler, DecodesRunFirstAndALongPromptTakesOnlyTheRestOfTheBudget) {
  SchedulerConfig c = config(64, 4);
  c.max_tokens_per_step = 16;
  Scheduler s(c);
  s.add(1, iota_tokens(5), 8);
  s.add(2, iota_tokens(6, 300), 8);
  step(s);  // both prefilled and sampled
  s.add(3, iota_tokens(100, 500), 4);
  const SchedulerOutput out = step(s);
  ASSERT_EQ(out.seqs.size(), 3u);
  EXPECT_EQ(out.seqs[0].id, 1u);
  EXPECT_EQ(out.seqs[1].id, 2u);
  EXPECT_EQ(out.seqs[0].num_new, 1);
  EXPECT_EQ(out.seqs[1].num_new, 1);
  EXPECT_EQ(out.seqs[2].id, 3u);
  EXPECT_EQ(out.seqs[2].num_new, 14);
  EXPECT_EQ(out.num_tokens, 16);
  // Still prefilling sequence 3 does not stop the decodes next step either.
  const SchedulerOutput next = step(s);
  EXPECT_EQ(next.seqs[0].num_new, 1);
  EXPECT_EQ(next.seqs[1].num_new, 1);
  EXPECT_EQ(next.seqs[2].num_computed, 14);
}

TEST(Scheduler, IdenticalPromptStartsFromTheCachedPrefix) {
  Scheduler s(config(64, 4));
  const auto prompt = iota_tokens(10);
  s.add(1, prompt, 4);
  step(s);
  s.add(2, prompt, 4);
  const SchedulerOutput out = step(s);
  const ScheduledSeq* q = find(out, 2);
  ASSERT_NE(q, nullptr);
  EXPECT_EQ(q->num_computed, 8);  // two full blocks; the partial third is recomputed
  EXPECT_EQ(q->num_new, 2);
  EXPECT_TRUE(q->samples);
  EXPECT_EQ(s.block_table(2)[0], s.block_table(1)[0]);
  EXPECT_EQ(s.block_table(2)[1], s.block_table(1)[1]);
  EXPECT_NE(s.block_table(2)[2], s.block_table(1)[2]);
  EXPECT_EQ(s.stats().kv.prefix_hit_tokens, 8u);
}

TEST(Scheduler, ConcurrentIdenticalPromptsDoNotShareUncomputedBlocks) {
  Scheduler s(config(64, 4));
  const auto prompt = iota_tokens(10);
  s.add(1, prompt, 4);
  s.add(2, prompt, 4);  // admitted in the same step: nothing is cached yet
  const SchedulerOutput out = step(s);
  EXPECT_EQ(find(out, 2)->num_computed, 0);
  EXPECT_NE(s.block_table(1)[0], s.block_table(2)[0]);
}

TEST(Scheduler, PreemptsTheNewestSequenceAndRecomputesItLater) {
  // 4 blocks of 4 tokens. Two sequences of 4 prompt tokens + up to 8 new each (3 blocks
  // each) cannot both finish: the newer one must give way, then resume.
  Scheduler s(config(4, 4));
  s.add(1, iota_tokens(4, 10), 8);
  s.add(2, iota_tokens(4, 20), 8);
  SchedulerOutput out;
  int steps = 0;
  do {
    out = step(s, static_cast<int32_t>(1000 + steps));
    ++steps;
    ASSERT_LT(steps, 20);
  } while (out.preempted.empty());
  EXPECT_EQ(out.preempted, (std::vector<SeqId>{2}));
  EXPECT_EQ(s.num_waiting(), 1);
  EXPECT_EQ(s.num_computed(2), 0);
  EXPECT_TRUE(s.block_table(2).empty());
  EXPECT_GT(s.num_generated(2), 0);  // generated tokens are kept and recomputed
  EXPECT_EQ(find(out, 2), nullptr);
  ASSERT_NE(find(out, 1), nullptr);  // the older one kept running
  const auto tokens2 = s.tokens(2);

  while (s.num_generated(1) < 8) step(s);
  s.finish(1);
  const SchedulerOutput resumed = step(s, 7);
  const ScheduledSeq* q = find(resumed, 2);
  ASSERT_NE(q, nullptr);
  EXPECT_GT(q->num_computed, 0);  // its full blocks were still in the prefix cache
  EXPECT_EQ(q->num_computed + q->num_new, static_cast<int>(tokens2.size()));
  EXPECT_TRUE(q->samples);
  EXPECT_EQ(s.stats().num_preemptions, 1u);
}

TEST(Scheduler, PreemptionPrefersNewestEvenWhenSeveralMustGo) {
  // Sequence 1 needs a block and three newer ones hold everything else.
  SchedulerConfig c = config(5, 4);
  Scheduler s(c);
  s.add(1, iota_tokens(8, 10), 8);
  s.add(2, iota_tokens(4, 20), 1);
  s.add(3, iota_tokens(4, 30), 1);
  s.add(4, iota_tokens(4, 40), 1);
  const SchedulerOutput first = s.schedule();  // 2 + 1 + 1 + 1 blocks: the pool is full
  ASSERT_EQ(first.seqs.size(), 4u);
  s.on_step_done(first);
  s.append_token(1, 5);  // only 1 continues; the others sampled but wait for append/finish
  const SchedulerOutput out = s.schedule();
  EXPECT_EQ(out.preempted, (std::vector<SeqId>{4}));
  ASSERT_EQ(out.seqs.size(), 1u);
  EXPECT_EQ(out.seqs[0].id, 1u);
  s.on_step_done(out);
  s.check_invariants();
}

TEST(Scheduler, ANewSequenceThatCannotGrowPreemptsItselfNotOlderOnes) {
  Scheduler s(config(4, 4));
  s.add(1, iota_tokens(4, 10), 8);
  step(s);  // 1 holds a block
  s.add(2, iota_tokens(8, 20), 4);
  step(s);  // 2 admitted: 3 of 4 blocks used
  // 1 needs a 2nd block (last free), then 2 needs a 3rd: nobody newer, so 2 itself goes.
  SchedulerOutput out;
  for (int i = 0; i < 8 && out.preempted.empty(); ++i) out = step(s);
  EXPECT_EQ(out.preempted, (std::vector<SeqId>{2}));
  EXPECT_NE(find(out, 1), nullptr);
}

TEST(Scheduler, AbortFreesBlocksImmediately) {
  Scheduler s(config(16, 4));
  s.add(1, iota_tokens(10), 4);
  step(s);
  EXPECT_EQ(s.stats().kv.blocks_used, 3);
  s.abort(1);
  EXPECT_EQ(s.stats().kv.blocks_used, 0);
  EXPECT_FALSE(s.contains(1));
  s.abort(1);  // idempotent: the client may vanish twice
  s.add(2, iota_tokens(3), 4);
  s.abort(2);  // waiting sequences can be aborted too
  EXPECT_EQ(s.num_waiting(), 0);
  s.check_invariants();
}

TEST(Scheduler, FinishedSequenceLeavesAtOnceAndAWaitingOneJoins) {
  SchedulerConfig c = config(16, 4);
  c.max_num_seqs = 1;
  Scheduler s(c);
  s.add(1, iota_tokens(5), 4);
  s.add(2, iota_tokens(5, 50), 4);
  SchedulerOutput out = step(s);
  EXPECT_EQ(out.seqs.size(), 1u);
  EXPECT_EQ(s.num_running(), 1);
  EXPECT_EQ(s.num_waiting(), 1);
  s.finish(1);
  EXPECT_EQ(s.stats().kv.blocks_used, 0);
  out = step(s);
  ASSERT_EQ(out.seqs.size(), 1u);
  EXPECT_EQ(out.seqs[0].id, 2u);
}

TEST(Scheduler, WaitingRequestIsAdmittedOnlyWhenItsBlocksFit) {
  Scheduler s(config(4, 4));
  s.add(1, iota_tokens(12), 4);  // 3 blocks
  step(s);
  s.add(2, iota_tokens(8, 50), 4);  // 2 blocks: only 1 free
  const SchedulerOutput out = step(s);
  EXPECT_EQ(find(out, 2), nullptr);
  EXPECT_EQ(s.num_waiting(), 1);
  s.finish(1);
  EXPECT_NE(find(step(s), 2), nullptr);
}

TEST(Scheduler, ForkSharesThePromptAndCopiesThePartialBlockBeforeWriting) {
  Scheduler s(config(16, 4));
  s.add(1, iota_tokens(6), 4);
  const SchedulerOutput prefill = s.schedule();
  s.on_step_done(prefill);
  s.fork(1, 2);  // second choice from the same logits
  EXPECT_EQ(s.block_table(2), s.block_table(1));
  s.append_token(1, 7);
  s.append_token(2, 8);
  const SchedulerOutput out = s.schedule();
  ASSERT_EQ(out.seqs.size(), 2u);
  EXPECT_EQ(out.seqs[0].num_computed, 6);
  ASSERT_EQ(out.block_copies.size(), 1u);
  EXPECT_NE(s.block_table(1)[1], s.block_table(2)[1]);
  EXPECT_EQ(s.block_table(1)[0], s.block_table(2)[0]);
  s.on_step_done(out);
  s.check_invariants();
}

TEST(Scheduler, ScheduleRefusesToRunAheadOfTheRunner) {
  Scheduler s(config(16, 4));
  s.add(1, iota_tokens(6), 4);
  const SchedulerOutput out = s.schedule();
  EXPECT_THROW(s.schedule(), std::logic_error);
  s.on_step_done(out);
  EXPECT_NO_THROW(s.schedule());
}

TEST(Scheduler, AppendBeyondMaxNewTokensIsRefused) {
  Scheduler s(config(16, 4));
  s.add(1, iota_tokens(3), 1);
  step(s);
  EXPECT_EQ(s.num_generated(1), 1);
  EXPECT_THROW(s.append_token(1, 5), std::logic_error);
}

TEST(Scheduler, MaxNumSeqsCapsTheRunningSet) {
  SchedulerConfig c = config(64, 4);
  c.max_num_seqs = 3;
  Scheduler s(c);
  for (SeqId i = 1; i <= 5; ++i) s.add(i, iota_tokens(3, static_cast<int32_t>(i * 10)), 4);
  EXPECT_EQ(step(s).seqs.size(), 3u);
  EXPECT_EQ(s.num_running(), 3);
  EXPECT_EQ(s.num_waiting(), 2);
}

}  // namespace
}  // namespace toolgate::engine
