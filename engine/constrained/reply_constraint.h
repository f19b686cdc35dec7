#pragma once
// Keeps a generation to its reply grammar (reply_grammar.h: well-formed tool calls, a JSON
// answer following a schema, or either): a LogitsProcessor (engine.h) that follows the reply
// byte by byte and refuses every token whose bytes would leave the grammar.
//
// Cost, per generated token:
//  - allows(): the token the sampler picked is tried on a copy of the state: a few bytes fed.
//    This is the common case; the engine only asks for a mask when the pick is refused.
//  - mask(): in free text (lazy mode, outside a call) only tokens holding a byte that can
//    start a call are tried. Inside a free-form string the string-safe class is allowed whole
//    and the trie of the remaining tokens is walked. Elsewhere the trie of all text tokens is
//    walked; structure admits few bytes, so whole subtrees drop at their first byte.
// A constraint that ever finds itself with no allowed token (or is handed a token it did not
// allow) stops constraining rather than fail the generation: the reply then goes to the
// dialect parser as it is, like an unconstrained one. Once a JSON answer is complete only
// end-of-generation tokens are allowed.
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "engine/constrained/token_byte_index.h"
#include "engine/constrained/reply_grammar.h"
#include "engine/engine.h"

namespace toolgate::engine::constrained {

class ReplyConstraint final : public LogitsProcessor {
 public:
  // `already`: text the reply starts with that the model does not generate (the forced prompt
  // prefix). Throws std::invalid_argument if the grammar refuses it.
  ReplyConstraint(std::shared_ptr<const ReplyGrammar> grammar,
                  std::shared_ptr<const TokenByteIndex> index, std::string_view already = {});
  // Tool calls only.
  ReplyConstraint(std::shared_ptr<const ToolCallGrammar> grammar,
                  std::shared_ptr<const TokenByteIndex> index, std::string_view already = {});

  bool allows(int32_t token) override;
  void mask(std::span<float> logits) override;
  void accept(int32_t token) override;

  // 1 for each token that may come next, n_vocab entries (what mask() applies).
  const std::vector<uint8_t>& allowed_tokens();
  const ReplyState& state() const { return state_; }
  bool active() const { return !given_up_; }

 private:
  void walk(const TokenTrie& trie, uint32_t node, size_t depth);

  std::shared_ptr<const ReplyGrammar> grammar_;
  std::shared_ptr<const TokenByteIndex> index_;
  ReplyState state_;
  bool given_up_ = false;
  // Scratch, sized once.
  std::vector<uint8_t> allowed_;      // (n_vocab)
  std::vector<ReplyState> stack_;  // (trie depth + 2) state after each byte of a trie path
  std::vector<int32_t> free_text_checks_;  // text tokens holding a trigger byte (lazily filled)
  bool free_text_checks_ready_ = false;
};

}  // namespace toolgate::engine::constrained
