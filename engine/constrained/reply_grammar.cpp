#include "engine/constrained/reply_grammar.h"

#include <stdexcept>

namespace toolgate::engine::constrained {

ReplyGrammar::ReplyGrammar(std::shared_ptr<const ToolCallGrammar> calls,
                           std::shared_ptr<const CompiledSchema> answer)
    : calls_(std::move(calls)), answer_(std::move(answer)) {
  if (!calls_ && !answer_) throw std::invalid_argument("a reply grammar needs calls or an answer");
}

ReplyState::ReplyState(const ReplyGrammar& grammar) {
  if (grammar.calls()) {
    calls_.emplace(*grammar.calls());
    calls_alive_ = true;
  }
  if (grammar.answer()) {
    answer_.start(grammar.answer()->root);
    answer_alive_ = true;
    with_answer_ = true;
  }
}

bool ReplyState::feed(uint8_t c) {
  const int calls_before = calls_alive_ ? calls_->calls_completed() : 0;
  // Nor a call in a ```json fence: a model that opens a fence beside a JSON answer means to
  // fence the answer, which would leave it only a call to write.
  if (with_answer_ && calls_alive_ && c == '`' && calls_->in_free_text()) calls_alive_ = false;
  if (calls_alive_ && !calls_->feed(c)) calls_alive_ = false;
  if (answer_alive_ && answer_.feed(c) == JsonRecognizer::Result::Reject) answer_alive_ = false;
  // Beside an answer, a reply of calls holds nothing but calls (in any form the dialect's lazy
  // grammar takes: tagged, or a bare / fenced JSON call where one may stand) and whitespace:
  // text is not the answer, and it would end up in front of the answer of the last round. A
  // byte is text when it leaves the calls in free text without completing a call (plain text,
  // or the byte that showed a tentative call was none).
  const bool ws = c == ' ' || c == '\n' || c == '\t' || c == '\r';
  if (with_answer_ && calls_alive_ && !ws && calls_->in_free_text() &&
      calls_->calls_completed() == calls_before)
    calls_alive_ = false;
  return calls_alive_ || answer_alive_;
}

bool ReplyState::feed(std::string_view bytes) {
  for (char c : bytes)
    if (!feed(static_cast<uint8_t>(c))) return false;
  return true;
}

bool ReplyState::can_end() const {
  // Beside an answer, a reply that is not the answer must hold a call: free text alone is
  // neither.
  const bool calls_done =
      calls_alive_ && calls_->can_end() && (!with_answer_ || calls_->calls_completed() > 0);
  return calls_done || (answer_alive_ && answer_.can_end());
}

bool ReplyState::in_plain_string() const {
  return (calls_alive_ && calls_->in_plain_string()) ||
         (answer_alive_ && answer_.in_plain_string());
}

bool ReplyState::in_free_text() const {
  return calls_alive_ && !answer_alive_ && calls_->in_free_text();
}

}  // namespace toolgate::engine::constrained
