#include "engine/constrained/reply_constraint.h"

#include <algorithm>
#include <limits>
#include <stdexcept>

namespace toolgate::engine::constrained {

ReplyConstraint::ReplyConstraint(std::shared_ptr<const ToolCallGrammar> grammar,
                                 std::shared_ptr<const TokenByteIndex> index,
                                 std::string_view already)
    : ReplyConstraint(std::make_shared<const ReplyGrammar>(std::move(grammar)), std::move(index),
                      already) {}

ReplyConstraint::ReplyConstraint(std::shared_ptr<const ReplyGrammar> grammar,
                                 std::shared_ptr<const TokenByteIndex> index,
                                 std::string_view already)
    : grammar_(std::move(grammar)), index_(std::move(index)), state_(*grammar_) {
  if (!state_.feed(already))
    throw std::invalid_argument("the reply grammar refuses the forced text '" +
                                std::string(already) + "'");
  allowed_.resize(static_cast<size_t>(index_->n_vocab()));
  stack_.assign(std::max(index_->all_text().max_depth(), index_->not_string_safe().max_depth()) + 2,
                state_);
}

bool ReplyConstraint::allows(int32_t token) {
  if (given_up_) return true;
  if (token < 0 || token >= index_->n_vocab()) return false;
  switch (index_->token_class(token)) {
    case TokenByteIndex::Class::Never: return false;
    case TokenByteIndex::Class::EndOfGeneration: return state_.can_end();
    case TokenByteIndex::Class::Text: {
      ReplyState trial = state_;
      return trial.feed(index_->bytes(token));
    }
  }
  return false;
}

void ReplyConstraint::accept(int32_t token) {
  if (given_up_ || token < 0 || token >= index_->n_vocab()) return;
  switch (index_->token_class(token)) {
    case TokenByteIndex::Class::EndOfGeneration: return;
    case TokenByteIndex::Class::Never: given_up_ = true; return;
    case TokenByteIndex::Class::Text:
      if (!state_.feed(index_->bytes(token))) given_up_ = true;
      return;
  }
}

const std::vector<uint8_t>& ReplyConstraint::allowed_tokens() {
  const auto n = static_cast<size_t>(index_->n_vocab());
  if (state_.in_free_text()) {
    // Outside a call every text token is fine unless one of its bytes may start a call whose
    // following bytes the grammar then refuses.
    for (size_t i = 0; i < n; ++i)
      allowed_[i] = index_->token_class(static_cast<int32_t>(i)) == TokenByteIndex::Class::Text;
    if (!free_text_checks_ready_) {
      free_text_checks_ = index_->text_tokens_with_any_of(grammar_->calls()->trigger_bytes());
      free_text_checks_ready_ = true;
    }
    for (int32_t id : free_text_checks_) {
      ReplyState trial = state_;
      allowed_[static_cast<size_t>(id)] = trial.feed(index_->bytes(id));
    }
  } else if (state_.in_plain_string()) {
    std::copy(index_->string_safe().begin(), index_->string_safe().end(), allowed_.begin());
    stack_[0] = state_;
    walk(index_->not_string_safe(), 0, 0);
  } else {
    std::fill(allowed_.begin(), allowed_.end(), 0);
    stack_[0] = state_;
    walk(index_->all_text(), 0, 0);
  }
  if (state_.can_end())
    for (int32_t id : index_->end_of_generation()) allowed_[static_cast<size_t>(id)] = 1;
  return allowed_;
}

void ReplyConstraint::walk(const TokenTrie& trie, uint32_t node, size_t depth) {
  const TokenTrie::Node& n = trie.node(node);
  for (uint32_t e = n.first_edge; e < n.first_edge + n.n_edges; ++e) {
    ReplyState& next = stack_[depth + 1];
    next = stack_[depth];
    if (!next.feed(trie.edge_byte(e))) continue;  // no token below this prefix fits
    const uint32_t child = trie.edge_child(e);
    const TokenTrie::Node& c = trie.node(child);
    for (uint32_t k = 0; k < c.n_tokens; ++k)
      allowed_[static_cast<size_t>(trie.token(c.first_token + k))] = 1;
    if (c.n_edges > 0) walk(trie, child, depth + 1);
  }
}

void ReplyConstraint::mask(std::span<float> logits) {
  if (given_up_) return;
  const auto& allowed = allowed_tokens();
  const size_t n = std::min(logits.size(), allowed.size());
  if (std::find(allowed.begin(), allowed.begin() + static_cast<std::ptrdiff_t>(n), 1) ==
      allowed.begin() + static_cast<std::ptrdiff_t>(n)) {
    given_up_ = true;  // a dead end (a grammar bug): better an unconstrained reply than none
    return;
  }
  constexpr float kBanned = -std::numeric_limits<float>::infinity();
  for (size_t i = 0; i < n; ++i)
    if (!allowed[i]) logits[i] = kBanned;
  for (size_t i = n; i < logits.size(); ++i) logits[i] = kBanned;
}

}  // namespace toolgate::engine::constrained
