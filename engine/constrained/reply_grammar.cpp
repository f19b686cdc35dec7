#include "engine/constrained/reply_grammar.h"

#include <stdexcept>

namespace toolgate::engine::constrained {

ReplyGrammar::ReplyGrammar(std::shared_ptr<const ToolCallGrammar> calls,
                           std::shared_ptr<const CompiledSchema> answer)
    : calls_(std::move(calls)), answer_(std::move(answer)) {
  if (!calls_ && !answer_) throw std::invalid_argument("a reply grammar needs calls or an answer");
  if (calls_ && answer_ && calls_->mode() != ConstraintMode::Forced)
    throw std::invalid_argument("calls beside an answer must be forced (no free text)");
}

ReplyState::ReplyState(const ReplyGrammar& grammar) {
  if (grammar.calls()) {
    calls_.emplace(*grammar.calls());
    calls_alive_ = true;
  }
  if (grammar.answer()) {
    answer_.start(grammar.answer()->root);
    answer_alive_ = true;
  }
}

bool ReplyState::feed(uint8_t c) {
  if (calls_alive_ && !calls_->feed(c)) calls_alive_ = false;
  if (answer_alive_ && answer_.feed(c) == JsonRecognizer::Result::Reject) answer_alive_ = false;
  return calls_alive_ || answer_alive_;
}

bool ReplyState::feed(std::string_view bytes) {
  for (char c : bytes)
    if (!feed(static_cast<uint8_t>(c))) return false;
  return true;
}

bool ReplyState::can_end() const {
  return (calls_alive_ && calls_->can_end()) || (answer_alive_ && answer_.can_end());
}

bool ReplyState::in_plain_string() const {
  return (calls_alive_ && calls_->in_plain_string()) ||
         (answer_alive_ && answer_.in_plain_string());
}

bool ReplyState::in_free_text() const {
  return calls_alive_ && !answer_alive_ && calls_->in_free_text();
}

}  // namespace toolgate::engine::constrained
