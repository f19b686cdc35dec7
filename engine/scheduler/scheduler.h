#pragma once
// Scheduler: decides which sequences run in the next forward pass and how many tokens each
// computes, under a token budget (continuous batching with chunked prefill), admitting waiting
// requests while their KV blocks fit and preempting (by recompute) when blocks run out. It does
// no math: the runner executes each SchedulerOutput and reports back.
//
// One step, as the engine loop drives it:
//   out = schedule();              // who runs, block copies to make first, who was preempted
//   runner: copy out.block_copies, then compute K/V for each out.seqs[i] (tokens
//           [num_computed, num_computed + num_new) of tokens(id), into block_table(id))
//   on_step_done(out);
//   for each seq with samples: append_token(id, sampled) or finish(id)
//
// Speculative decoding (engine/speculative/): before schedule(), propose(id, draft) offers
// tokens guessed to follow a decoding sequence's pending token. schedule() appends as many as
// fit (budget, max_new_tokens, context) to the sequence and plans them in the same row as the
// pending token (ScheduledSeq::num_spec); the runner computes logits for every one of those
// positions, decides how many proposals the target model agrees with, and calls
// resolve_proposal(id, num_accepted) before append_token/finish: rejected tokens leave the
// sequence and their positions are rolled back (tail blocks freed). Blocks are committed to the
// prefix cache only once every token in them is kept, so a rejected token is never cached.
// add()/abort()/finish() may be called between steps; blocks of finished or aborted sequences
// return to the pool at once (a step already handed to the runner may still write into them:
// nobody else can get them before the next schedule()).
#include <cstdint>
#include <deque>
#include <unordered_map>
#include <utility>
#include <vector>

#include "engine/kv/kv_cache_manager.h"

namespace toolgate::engine {

struct SchedulerConfig {
  int max_num_seqs = 32;          // sequences running at once
  int max_tokens_per_step = 512;  // tokens computed by one forward pass, decodes + prefill chunks
  int max_model_len = 8192;       // prompt + generated tokens of one sequence
  int block_size = 16;            // tokens per KV block
  int num_blocks = 0;             // KV blocks in the pool
  bool prefix_caching = true;
};

struct ScheduledSeq {
  SeqId id = 0;
  int num_computed = 0;  // tokens already in the KV cache before this step
  int num_new = 0;       // tokens to compute this step: tokens(id)[num_computed, +num_new)
  bool samples = false;  // this step reaches the last known token: the runner samples one
  int num_spec = 0;      // of num_new, proposed (speculative) tokens at the end of the row
};

struct SchedulerOutput {
  std::vector<ScheduledSeq> seqs;  // decodes (one token) first, then prefill chunks
  std::vector<SeqId> preempted;    // lost their blocks this step; will recompute later
  std::vector<std::pair<int, int>> block_copies;  // (src, dst): copy K/V before the step
  int num_tokens = 0;                             // sum of num_new
};

struct SchedulerStats {
  int num_running = 0;
  int num_waiting = 0;
  uint64_t num_preemptions = 0;
  uint64_t num_steps = 0;
  KvCacheStats kv;
};

class Scheduler {
 public:
  // `hasher` is a test hook (see BlockHasher); production uses the default.
  explicit Scheduler(SchedulerConfig config, BlockHasher hasher = hash_block);

  // Queues a request. Throws std::invalid_argument if it could never run: empty prompt,
  // max_new_tokens < 1, prompt + max_new_tokens > max_model_len, more blocks than the pool has,
  // or an id already in use. `cache_key` keys the sequence's prefix-cache blocks (its LoRA
  // adapter; 0 = base): only sequences with the same key share cached K/V.
  void add(SeqId id, std::vector<int32_t> prompt, int max_new_tokens, uint64_t cache_key = 0);

  // n > 1 choices: `child` continues from the same tokens. A running parent shares its blocks
  // (copy-on-write); otherwise the child queues and will find the prompt in the prefix cache.
  // Call between steps, typically right after the prefill step and before append_token.
  void fork(SeqId parent, SeqId child);

  // Forgets the sequence and frees its blocks now (client gone). Unknown ids are ignored.
  void abort(SeqId id);

  // Plans one step. Throws std::logic_error if the previous output was not reported done.
  SchedulerOutput schedule();

  // The runner computed `out`: advances num_computed and caches newly full blocks. Entries of
  // sequences finished or aborted since schedule() are skipped.
  void on_step_done(const SchedulerOutput& out);

  // A sampled token joins the sequence; it is computed in a later step. Throws
  // std::logic_error beyond max_new_tokens.
  void append_token(SeqId id, int32_t token);

  // The sequence is done (stop token, max tokens, ...): frees its blocks at once.
  void finish(SeqId id);

  // True for a running sequence whose next step is a one-token decode (its last token was
  // sampled and is not computed yet): the sequences propose() may speculate for.
  bool awaits_decode(SeqId id) const;

  // Tokens guessed to follow the sequence's pending token, for the next schedule() only (it
  // keeps a prefix that fits and forgets the offer). Ignored unless awaits_decode(id).
  void propose(SeqId id, std::vector<int32_t> draft);

  // After the step that verified s.num_spec proposed tokens of `id` (on_step_done already
  // called): the first num_accepted stay as generated tokens with their K/V, the others are
  // removed and their positions rolled back. Call before append_token/finish for the sequence.
  // Throws std::logic_error if num_accepted is outside [0, num_spec].
  void resolve_proposal(SeqId id, int num_accepted);

  bool contains(SeqId id) const { return requests_.contains(id); }
  const std::vector<int32_t>& tokens(SeqId id) const;
  int num_computed(SeqId id) const;
  int num_generated(SeqId id) const;
  const std::vector<int>& block_table(SeqId id) const;  // empty while waiting

  int num_running() const { return static_cast<int>(running_.size()); }
  int num_waiting() const { return static_cast<int>(waiting_.size()); }
  SchedulerStats stats() const;
  const SchedulerConfig& config() const { return config_; }

  KvCacheManager& kv() { return kv_; }
  const KvCacheManager& kv() const { return kv_; }

  // KV manager invariants plus: running sequences hold blocks for their computed tokens,
  // waiting ones hold none, limits are respected. Throws std::logic_error.
  void check_invariants() const;

 private:
  struct Request {
    SeqId id = 0;
    uint64_t arrival = 0;  // admission order key: smaller = older
    std::vector<int32_t> tokens;
    int prompt_len = 0;
    int max_new_tokens = 0;
    int num_computed = 0;
    bool running = false;
    uint64_t cache_key = 0;
    std::vector<int32_t> proposal;  // offered by propose(), consumed by the next schedule()
    int num_spec = 0;  // proposed tokens at the end of `tokens`, scheduled, not yet resolved
  };

  Request& get(SeqId id);
  const Request& get(SeqId id) const;
  void remove(SeqId id);
  void preempt(Request& r, SchedulerOutput& out);
  void drop_spec(Request& r);  // removes unresolved proposed tokens from r.tokens
  void insert_running(SeqId id);
  // Tries to make room for r's next chunk, preempting the newest unscheduled running sequence
  // while that fails. Returns false if r itself had to be preempted.
  bool allocate_or_preempt(Request& r, int num_new, const std::vector<SeqId>& scheduled,
                           SchedulerOutput& out);

  SchedulerConfig config_;
  KvCacheManager kv_;
  std::unordered_map<SeqId, Request> requests_;
  std::vector<SeqId> running_;  // ascending arrival: back() is the newest
  std::deque<SeqId> waiting_;   // FCFS; preempted sequences re-enter at the front
  uint64_t next_arrival_ = 0;
  bool step_in_flight_ = false;
  uint64_t num_preemptions_ = 0;
  uint64_t num_steps_ = 0;
};

}  // namespace toolgate::engine
