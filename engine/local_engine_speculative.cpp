// LocalEngine's speculative decoding hooks (see SpeculativeOptions in engine.h and
// engine/speculative/). The step in local_engine.cpp calls propose_all() before schedule() and
// verify_proposals() for each row that carried proposals.
//
// Acceptance rule. Both proposers are deterministic (prompt lookup copies tokens, the draft
// model decodes greedily), so the proposal distribution q at each position is a point mass on
// the proposed token d. The standard rule of speculative sampling (Leviathan et al. 2023; Chen
// et al. 2023: accept d with probability min(1, p(d)/q(d)), else draw from
// norm(max(0, p - q))) then reads: accept d with probability p(d); on rejection draw from p with
// d removed. One draw x ~ p, accepted iff x == d, is exactly that: P(x = d) = p(d), and given
// x != d, x follows p restricted to tokens other than d. So each position is sampled by the
// ordinary sample_token() (penalties, top-k/p, the constraint: p is the sampler's final
// distribution given the tokens accepted so far) and compared with the proposal. At
// temperature 0 this is plain greedy decoding, token for token. The constraint only ever sees
// accepted tokens: sample_token() feeds it the target's own choice, which is the proposal
// exactly when the proposal is accepted, so no constraint state needs rolling back.
#include <algorithm>

#include "engine/local_engine.h"
#include "engine/speculative/prompt_lookup.h"

namespace toolgate::engine {

void LocalEngine::propose_all() {
  const SpeculativeOptions& so = options_.speculative;
  int rows_left = spec_rows_;
  std::vector<DraftModel::Request> draft_requests;
  for (auto& [id, seq] : seqs_) {
    if (rows_left <= 0) break;
    if (!scheduler_->contains(id) || !scheduler_->awaits_decode(id)) continue;
    // One token of max_tokens stays for the target's own sample after the accepted ones.
    const int room = seq.max_tokens - static_cast<int>(seq.generated.size()) - 1;
    const int k = std::min({seq.spec_k.next(), rows_left, room});
    if (k <= 0) continue;
    const std::vector<int32_t>& tokens = scheduler_->tokens(id);
    if (so.mode == SpeculativeOptions::Mode::Ngram) {
      std::vector<int32_t> guess = propose_by_prompt_lookup(tokens, k, so.ngram_min, so.ngram_max);
      if (guess.empty()) continue;
      rows_left -= static_cast<int>(guess.size());
      scheduler_->propose(id, std::move(guess));
    } else {
      DraftModel::Request r;
      r.id = id;
      r.tokens = tokens;
      r.k = k;
      draft_requests.push_back(std::move(r));
      rows_left -= k;
    }
  }
  if (draft_requests.empty()) return;
  try {
    draft_->propose(draft_requests);
  } catch (const std::exception&) {
    // A failing draft costs the speed-up of this step, never a request: decode plainly.
    for (const auto& r : draft_requests) draft_->release(r.id);
    return;
  }
  for (auto& r : draft_requests)
    if (!r.out.empty()) scheduler_->propose(r.id, std::move(r.out));
}

void LocalEngine::verify_proposals(const ScheduledSeq& s, int row0, uint64_t& generated_tokens) {
  Sequence& seq = seqs_.at(s.id);
  const std::vector<int32_t>& tokens = scheduler_->tokens(s.id);
  // Row i of the step's logits follows the pending token plus proposals [0, i).
  const std::vector<int32_t> proposed(tokens.begin() + s.num_computed + 1,
                                      tokens.begin() + s.num_computed + 1 + s.num_spec);
  int accepted = 0;
  auto account = [&] {
    spec_proposed_ += s.num_spec;
    spec_accepted_ += accepted;
    ++spec_verify_steps_;
  };
  for (int i = 0; i <= s.num_spec; ++i) {
    std::span<float> logits(logits_.data() + static_cast<size_t>(row0 + i) * hp_.n_vocab, hp_.n_vocab);
    SampledToken tok;
    try {
      tok = sample_token(seq, logits);
    } catch (const std::exception& e) {
      account();
      finish(s.id, FinishReason::Error, e.what());
      return;
    }
    seq.generated.push_back(tok.id);
    ++generated_tokens;
    const bool match = i < s.num_spec && tok.id == proposed[i];
    accepted += match;
    if (!seq.request.ignore_eos && tokenizer_->is_eog(tok.id)) {
      account();
      finish(s.id, FinishReason::Stop);  // drops the sequence, proposals included
      return;
    }
    if (!match) {
      // The target's own token replaces the first rejected proposal (or follows them all).
      scheduler_->resolve_proposal(s.id, accepted);
      scheduler_->append_token(s.id, tok.id);
    }
    emit_token(s.id, seq, tok);
    if (!seqs_.count(s.id)) {  // a stop string ended it
      account();
      return;
    }
    if (static_cast<int>(seq.generated.size()) >= seq.max_tokens) {
      account();
      finish(s.id, FinishReason::Length);
      return;
    }
    if (!match) break;
  }
  account();
  seq.spec_k.update(s.num_spec, accepted);
  spec_k_all_.update(s.num_spec, accepted);
}

}  // namespace toolgate::engine
