#include "engine/speculative/draft_model.h"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace toolgate::engine {

DraftModel::DraftModel(const std::filesystem::path& path, const Tokenizer& target_tokenizer,
                       const std::string& target_name, ThreadPool& pool,
                       const DraftModelOptions& options)
    : options_(options) {
  file_ = GgufFile::open(path);
  hp_ = HParams::from_gguf(*file_);
  name_ = file_->get_string("general.name").value_or(path.stem().string());
  const std::unique_ptr<Tokenizer> tok = Tokenizer::from_gguf(*file_);
  auto mismatch = [&](const std::string& what) {
    return std::runtime_error("draft model " + path.string() + " cannot draft for " +
                              target_name + ": " + what);
  };
  if (tok->n_vocab() != target_tokenizer.n_vocab())
    throw mismatch("vocabulary sizes differ (" + std::to_string(tok->n_vocab()) + " vs " +
                   std::to_string(target_tokenizer.n_vocab()) + " tokens)");
  for (int32_t id = 0; id < tok->n_vocab(); ++id)
    if (tok->token_text(id) != target_tokenizer.token_text(id))
      throw mismatch("token " + std::to_string(id) + " differs ('" + tok->token_text(id) +
                     "' vs '" + target_tokenizer.token_text(id) + "')");
  for (const auto& t : file_->tensors()) weight_bytes_ += t.nbytes;
  if (options_.warm_weights) file_->warm();
  weights_ = Weights::from_gguf(*file_, hp_);

  const int blocks_per_seq =
      (options_.context_length + options_.block_size - 1) / options_.block_size;
  int num_blocks = KvStore::blocks_for_budget(hp_, options_.block_size, KvDtype::F16,
                                              options_.kv_budget_bytes);
  num_blocks = std::min(num_blocks, blocks_per_seq * options_.max_num_seqs + blocks_per_seq);
  if (num_blocks < 1) throw std::runtime_error("draft model: KV budget too small for one block");
  kv_ = std::make_unique<KvStore>(hp_, num_blocks, options_.block_size, KvDtype::F16);
  if (options_.kv_preallocate) kv_->preallocate();
  kv_manager_ =
      std::make_unique<KvCacheManager>(num_blocks, options_.block_size, options_.prefix_caching);
  transformer_ = std::make_unique<Transformer>(hp_, weights_, pool, options_.max_tokens_per_step,
                                               options_.max_num_seqs, options_.context_length);
  logits_.resize(static_cast<size_t>(options_.max_num_seqs) * hp_.n_vocab);
}

void DraftModel::release(SeqId id) {
  kv_manager_->free(id);
  seqs_.erase(id);
}

bool DraftModel::prepare(Request& r, SeqState& s) {
  const int len = static_cast<int>(r.tokens.size());
  // What the draft's cache holds that the target kept, minus the last token at least: its
  // logits are where the proposals start.
  int keep = 0;
  while (keep < s.num_computed && keep < len && s.tokens[keep] == r.tokens[keep]) ++keep;
  keep = std::min(keep, len - 1);
  s.tokens.assign(r.tokens.begin(), r.tokens.end());
  if (!kv_manager_->contains(r.id)) {
    const CachedPrefix prefix = kv_manager_->find_cached_prefix(r.tokens);
    if (!kv_manager_->allocate(r.id, r.tokens, prefix.num_tokens, 0, &prefix)) return false;
    s.num_computed = prefix.num_tokens;
    return true;
  }
  s.num_computed = keep;
  kv_manager_->truncate(r.id, keep);
  return true;
}

int32_t DraftModel::argmax(int row) const {
  const float* l = logits_.data() + static_cast<size_t>(row) * hp_.n_vocab;
  return static_cast<int32_t>(std::max_element(l, l + hp_.n_vocab) - l);
}

void DraftModel::propose(std::span<Request> requests) {
  // Active requests: prepared, with room in the draft cache. A request that runs out of room is
  // dropped (no proposal: its sequence decodes plainly this step) and its draft state released.
  std::vector<Request*> active;
  for (Request& r : requests) {
    r.out.clear();
    if (r.k <= 0 || r.tokens.empty()) continue;
    if (static_cast<int>(active.size()) >= options_.max_num_seqs) break;
    SeqState& s = seqs_[r.id];
    bool ok = false;
    try {
      ok = prepare(r, s);
    } catch (const std::logic_error&) {
      ok = false;
    }
    if (ok) {
      active.push_back(&r);
    } else {
      release(r.id);
    }
  }

  // One forward pass over rows of `want` new tokens per request (0 = not in this pass); logits
  // of each row's last token land in logits_ row i for rows that reach the end of the tokens.
  std::vector<int> want(active.size());
  std::vector<int> row_of(active.size());
  auto run = [&]() {
    batch_.clear();
    int logit_rows = 0;
    for (size_t i = 0; i < active.size(); ++i) {
      row_of[i] = -1;
      if (want[i] == 0) continue;
      Request& r = *active[i];
      SeqState& s = seqs_.at(r.id);
      if (!kv_manager_->allocate(r.id, s.tokens, s.num_computed, want[i])) {
        release(r.id);
        want[i] = 0;
        r.out.clear();
        r.k = 0;
        continue;
      }
      const bool last = s.num_computed + want[i] == static_cast<int>(s.tokens.size());
      BatchSeq b;
      b.tokens = s.tokens.data() + s.num_computed;
      b.n = want[i];
      b.pos0 = s.num_computed;
      b.block_table = kv_manager_->block_table(r.id);
      b.logits = last ? BatchSeq::Logits::Last : BatchSeq::Logits::None;
      if (last) row_of[i] = logit_rows++;
      batch_.push_back(b);
    }
    for (auto [src, dst] : kv_manager_->take_pending_copies()) kv_->copy_block(src, dst);
    if (batch_.empty()) return;
    transformer_->forward(batch_, *kv_, logits_.data());
    for (size_t i = 0; i < active.size(); ++i)
      if (want[i] > 0) seqs_.at(active[i]->id).num_computed += want[i];
  };

  // Catch up with the target's tokens (prompt prefill, accepted tokens), in chunks under the
  // step budget; each request's first proposal comes from the pass that reaches its end.
  for (;;) {
    int budget = options_.max_tokens_per_step;
    bool any = false;
    for (size_t i = 0; i < active.size(); ++i) {
      want[i] = 0;
      if (active[i]->k <= 0) continue;
      const SeqState& s = seqs_.at(active[i]->id);
      const int remaining = static_cast<int>(s.tokens.size()) - s.num_computed;
      if (remaining <= 0 || budget <= 0) continue;
      want[i] = std::min(remaining, budget);
      budget -= want[i];
      any = true;
    }
    if (!any) break;
    run();
    for (size_t i = 0; i < active.size(); ++i)
      if (row_of[i] >= 0) active[i]->out.push_back(argmax(row_of[i]));
  }
  // The target's tokens are all kept: their full blocks may serve later prompts.
  for (Request* r : active)
    if (r->k > 0) kv_manager_->commit(r->id, r->tokens, static_cast<int>(r->tokens.size()));

  // Greedy decode of the remaining proposals, all requests in one pass per position.
  for (;;) {
    bool any = false;
    for (size_t i = 0; i < active.size(); ++i) {
      Request& r = *active[i];
      want[i] = 0;
      if (r.k <= 0 || r.out.empty() || static_cast<int>(r.out.size()) >= r.k) continue;
      seqs_.at(r.id).tokens.push_back(r.out.back());
      want[i] = 1;
      any = true;
    }
    if (!any) break;
    run();
    for (size_t i = 0; i < active.size(); ++i)
      if (row_of[i] >= 0) active[i]->out.push_back(argmax(row_of[i]));
  }
}

}  // namespace toolgate::engine
