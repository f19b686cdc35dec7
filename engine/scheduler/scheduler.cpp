#include "engine/scheduler/scheduler.h"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace toolgate::engine {

Scheduler::Scheduler(SchedulerConfig config, BlockHasher hasher)
    : config_(config), kv_(config.num_blocks, config.block_size, config.prefix_caching, hasher) {
  if (config_.max_num_seqs <= 0 || config_.max_tokens_per_step <= 0 ||
      config_.max_model_len <= 0)
    throw std::invalid_argument("Scheduler: limits must be positive");
}

Scheduler::Request& Scheduler::get(SeqId id) {
  auto it = requests_.find(id);
  if (it == requests_.end())
    throw std::out_of_range("Scheduler: unknown sequence " + std::to_string(id));
  return it->second;
}

const Scheduler::Request& Scheduler::get(SeqId id) const {
  auto it = requests_.find(id);
  if (it == requests_.end())
    throw std::out_of_range("Scheduler: unknown sequence " + std::to_string(id));
  return it->second;
}

void Scheduler::add(SeqId id, std::vector<int32_t> prompt, int max_new_tokens,
                    uint64_t cache_key) {
  if (requests_.contains(id))
    throw std::invalid_argument("Scheduler::add: sequence " + std::to_string(id) +
                                " already exists");
  if (prompt.empty()) throw std::invalid_argument("Scheduler::add: empty prompt");
  if (max_new_tokens < 1) throw std::invalid_argument("Scheduler::add: max_new_tokens < 1");
  const int64_t total = static_cast<int64_t>(prompt.size()) + max_new_tokens;
  if (total > config_.max_model_len)
    throw std::invalid_argument("Scheduler::add: prompt (" + std::to_string(prompt.size()) +
                                ") + max_new_tokens (" + std::to_string(max_new_tokens) +
                                ") exceeds max_model_len " +
                                std::to_string(config_.max_model_len));
  // A sequence alone must always fit: that is what makes preemption (rather than failure) safe.
  if (kv_.blocks_for_tokens(static_cast<int>(total)) > kv_.num_blocks())
    throw std::invalid_argument("Scheduler::add: needs " +
                                std::to_string(kv_.blocks_for_tokens(static_cast<int>(total))) +
                                " KV blocks, the pool has " + std::to_string(kv_.num_blocks()));
  Request r;
  r.id = id;
  r.arrival = next_arrival_++;
  r.prompt_len = static_cast<int>(prompt.size());
  r.tokens = std::move(prompt);
  r.max_new_tokens = max_new_tokens;
  r.cache_key = cache_key;
  requests_.emplace(id, std::move(r));
  waiting_.push_back(id);
}

void Scheduler::fork(SeqId parent, SeqId child) {
  if (step_in_flight_) throw std::logic_error("Scheduler::fork: a step is in flight");
  if (requests_.contains(child))
    throw std::invalid_argument("Scheduler::fork: sequence " + std::to_string(child) +
                                " already exists");
  const Request& p = get(parent);
  Request c = p;
  c.id = child;
  c.arrival = next_arrival_++;
  if (p.running && num_running() < config_.max_num_seqs) {
    kv_.fork(parent, child);
    requests_.emplace(child, std::move(c));
    running_.push_back(child);  // newest arrival
  } else {
    c.running = false;
    c.num_computed = 0;
    requests_.emplace(child, std::move(c));
    waiting_.push_back(child);
  }
}

void Scheduler::remove(SeqId id) {
  Request& r = get(id);
  kv_.free(id);
  if (r.running) {
    running_.erase(std::ranges::find(running_, id));
  } else {
    waiting_.erase(std::ranges::find(waiting_, id));
  }
  requests_.erase(id);
}

void Scheduler::abort(SeqId id) {
  if (requests_.contains(id)) remove(id);
}

void Scheduler::finish(SeqId id) { remove(id); }

void Scheduler::insert_running(SeqId id) {
  const uint64_t arrival = get(id).arrival;
  auto pos = std::ranges::find_if(running_, [&](SeqId o) { return get(o).arrival > arrival; });
  running_.insert(pos, id);
}

void Scheduler::drop_spec(Request& r) {
  r.tokens.resize(r.tokens.size() - r.num_spec);
  r.num_spec = 0;
}

void Scheduler::preempt(Request& r, SchedulerOutput& out) {
  drop_spec(r);
  kv_.free(r.id);
  r.num_computed = 0;
  r.running = false;
  running_.erase(std::ranges::find(running_, r.id));
  // Front of the queue: it was admitted before everything still waiting.
  waiting_.push_front(r.id);
  out.preempted.push_back(r.id);
  ++num_preemptions_;
}

bool Scheduler::allocate_or_preempt(Request& r, int num_new, const std::vector<SeqId>& scheduled,
                                    SchedulerOutput& out) {
  while (!kv_.allocate(r.id, r.tokens, r.num_computed, num_new, nullptr, r.cache_key)) {
    // The newest running sequence not already part of this step gives way. r itself is
    // unscheduled, so the search always finds someone, possibly r.
    auto victim = std::find_if(running_.rbegin(), running_.rend(), [&](SeqId id) {
      return std::ranges::find(scheduled, id) == scheduled.end();
    });
    Request& v = get(*victim);
    const bool self = v.id == r.id;
    preempt(v, out);
    if (self) return false;
  }
  return true;
}

SchedulerOutput Scheduler::schedule() {
  if (step_in_flight_)
    throw std::logic_error("Scheduler::schedule: previous step not reported by on_step_done");
  SchedulerOutput out;
  std::vector<ScheduledSeq> decodes;
  std::vector<ScheduledSeq> prefills;
  std::vector<SeqId> scheduled;
  int budget = config_.max_tokens_per_step;

  auto emit = [&](Request& r, int num_new, bool decode) {
    const ScheduledSeq s{r.id, r.num_computed, num_new,
                         r.num_computed + num_new == static_cast<int>(r.tokens.size()),
                         r.num_spec};
    (decode ? decodes : prefills).push_back(s);
    scheduled.push_back(r.id);
    budget -= num_new;
  };

  // Running sequences, oldest first: decodes before prefill chunks so that a long prompt
  // cannot take the budget from sequences that are streaming tokens.
  for (const bool decode_pass : {true, false}) {
    const std::vector<SeqId> order = running_;  // preemption edits running_
    for (SeqId id : order) {
      if (budget <= 0) break;
      Request& r = get(id);
      if (!r.running || std::ranges::find(scheduled, id) != scheduled.end()) continue;
      const int remaining = static_cast<int>(r.tokens.size()) - r.num_computed;
      // remaining == 0: sampled, waiting for append_token/finish.
      if (remaining == 0 || (remaining == 1) != decode_pass) continue;
      if (decode_pass && !r.proposal.empty()) {
        // Proposed tokens ride along with the pending one, as far as everything allows: one
        // more token must still fit after the accepted ones (the target's own sample).
        const int generated = static_cast<int>(r.tokens.size()) - r.prompt_len;
        const int fit = std::min({static_cast<int>(r.proposal.size()), budget - 1,
                                  r.max_new_tokens - generated - 1,
                                  config_.max_model_len - static_cast<int>(r.tokens.size()) - 1});
        if (fit > 0) {
          r.tokens.insert(r.tokens.end(), r.proposal.begin(), r.proposal.begin() + fit);
          r.num_spec = fit;
        }
      }
      r.proposal.clear();
      // Speculation never preempts anyone: without room for the proposals, plain decode.
      if (r.num_spec > 0 && !kv_.allocate(r.id, r.tokens, r.num_computed, 1 + r.num_spec))
        drop_spec(r);
      const int num_new = std::min(remaining + r.num_spec, budget);
      if (allocate_or_preempt(r, num_new, scheduled, out)) emit(r, num_new, decode_pass);
    }
  }

  // Admission, FCFS. Not after a preemption: memory is short, a newcomer would only thrash.
  while (out.preempted.empty() && budget > 0 && !waiting_.empty() &&
         num_running() < config_.max_num_seqs) {
    Request& r = get(waiting_.front());
    const CachedPrefix prefix = kv_.find_cached_prefix(r.tokens, r.cache_key);
    const int num_new = std::min(static_cast<int>(r.tokens.size()) - prefix.num_tokens, budget);
    if (!kv_.allocate(r.id, r.tokens, prefix.num_tokens, num_new, &prefix, r.cache_key)) break;
    waiting_.pop_front();
    r.num_computed = prefix.num_tokens;
    r.running = true;
    insert_running(r.id);
    emit(r, num_new, /*decode=*/false);
  }

  for (SeqId id : running_) get(id).proposal.clear();  // offers are for this step only
  out.seqs = std::move(decodes);
  out.seqs.insert(out.seqs.end(), prefills.begin(), prefills.end());
  out.block_copies = kv_.take_pending_copies();
  out.num_tokens = config_.max_tokens_per_step - budget;
  step_in_flight_ = !out.seqs.empty();
  return out;
}

void Scheduler::on_step_done(const SchedulerOutput& out) {
  step_in_flight_ = false;
  if (out.seqs.empty()) return;
  ++num_steps_;
  for (const ScheduledSeq& s : out.seqs) {
    auto it = requests_.find(s.id);
    if (it == requests_.end() || !it->second.running) continue;  // finished or aborted
    Request& r = it->second;
    if (r.num_computed != s.num_computed)
      throw std::logic_error("Scheduler::on_step_done: sequence " + std::to_string(s.id) +
                             " was not scheduled by the last schedule()");
    r.num_computed += s.num_new;
    // Blocks holding proposed tokens wait for resolve_proposal(): they may be rolled back.
    kv_.commit(r.id, r.tokens, r.num_computed - r.num_spec);
  }
}

bool Scheduler::awaits_decode(SeqId id) const {
  const Request& r = get(id);
  return r.running && static_cast<int>(r.tokens.size()) - r.num_computed == 1;
}

void Scheduler::propose(SeqId id, std::vector<int32_t> draft) {
  Request& r = get(id);
  if (step_in_flight_) throw std::logic_error("Scheduler::propose: a step is in flight");
  if (!awaits_decode(id)) return;
  r.proposal = std::move(draft);
}

void Scheduler::resolve_proposal(SeqId id, int num_accepted) {
  Request& r = get(id);
  if (num_accepted < 0 || num_accepted > r.num_spec)
    throw std::logic_error("Scheduler::resolve_proposal: sequence " + std::to_string(id) +
                           " accepted " + std::to_string(num_accepted) + " of " +
                           std::to_string(r.num_spec) + " proposed tokens");
  if (r.num_spec == 0) return;
  const int rejected = r.num_spec - num_accepted;
  r.tokens.resize(r.tokens.size() - rejected);
  r.num_spec = 0;
  if (!r.running) return;  // preempted meanwhile: nothing computed to roll back
  r.num_computed = std::min(r.num_computed, static_cast<int>(r.tokens.size()));
  kv_.truncate(r.id, r.num_computed);
  kv_.commit(r.id, r.tokens, r.num_computed);
}

void Scheduler::append_token(SeqId id, int32_t token) {
  Request& r = get(id);
  if (static_cast<int>(r.tokens.size()) - r.prompt_len >= r.max_new_tokens)
    throw std::logic_error("Scheduler::append_token: sequence " + std::to_string(id) +
                           " already has max_new_tokens");
  r.tokens.push_back(token);
}

const std::vector<int32_t>& Scheduler::tokens(SeqId id) const { return get(id).tokens; }
int Scheduler::num_computed(SeqId id) const { return get(id).num_computed; }
int Scheduler::num_generated(SeqId id) const {
  const Request& r = get(id);
  return static_cast<int>(r.tokens.size()) - r.prompt_len;
}

const std::vector<int>& Scheduler::block_table(SeqId id) const {
  static const std::vector<int> kNone;
  get(id);  // throws if unknown
  return kv_.contains(id) ? kv_.block_table(id) : kNone;
}

SchedulerStats Scheduler::stats() const {
  SchedulerStats s;
  s.num_running = num_running();
  s.num_waiting = num_waiting();
  s.num_preemptions = num_preemptions_;
  s.num_steps = num_steps_;
  s.kv = kv_.stats();
  return s;
}

void Scheduler::check_invariants() const {
  kv_.check_invariants();
  auto fail = [](const std::string& what) {
    throw std::logic_error("Scheduler invariant: " + what);
  };
  if (num_running() > config_.max_num_seqs) fail("more running sequences than max_num_seqs");
  if (requests_.size() != running_.size() + waiting_.size())
    fail("a request is neither running nor waiting, or both");
  if (kv_.num_sequences() != num_running()) fail("KV holds sequences that are not running");
  uint64_t prev_arrival = 0;
  bool first = true;
  for (SeqId id : running_) {
    const Request& r = get(id);
    if (!r.running) fail("sequence " + std::to_string(id) + " in running list not marked running");
    if (!first && r.arrival <= prev_arrival) fail("running list not in arrival order");
    first = false;
    prev_arrival = r.arrival;
    if (!kv_.contains(id)) fail("running sequence " + std::to_string(id) + " has no blocks");
    if (r.num_spec != 0) fail("sequence " + std::to_string(id) + " has unresolved proposals");
    if (r.num_computed > static_cast<int>(r.tokens.size()))
      fail("sequence " + std::to_string(id) + " computed more tokens than it has");
    if (static_cast<int>(kv_.block_table(id).size()) < kv_.blocks_for_tokens(r.num_computed))
      fail("sequence " + std::to_string(id) + " lacks blocks for its computed tokens");
  }
  for (SeqId id : waiting_) {
    const Request& r = get(id);
    if (r.running || r.num_computed != 0 || kv_.contains(id))
      fail("waiting sequence " + std::to_string(id) + " holds KV state");
  }
}

}  // namespace toolgate::engine
