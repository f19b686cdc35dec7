#pragma once
// What a constrained reply may be: tool calls in the model's dialect (tool_call_grammar.h), a
// JSON value following a response schema (response_format; json_recognizer.h), or either of
// the two (tools offered with tool_choice "auto" and a response_format): the reply is the
// answer, or one or more calls and nothing else (any call form the dialect's lazy grammar
// takes: tagged, or a bare / fenced JSON call where one may stand), decided by its first bytes.
#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>

#include "engine/constrained/compiled_schema.h"
#include "engine/constrained/json_recognizer.h"
#include "engine/constrained/tool_call_grammar.h"

namespace toolgate::engine::constrained {

class ReplyGrammar {
 public:
  // At least one of the two (throws std::invalid_argument otherwise).
  ReplyGrammar(std::shared_ptr<const ToolCallGrammar> calls,
               std::shared_ptr<const CompiledSchema> answer);
  explicit ReplyGrammar(std::shared_ptr<const ToolCallGrammar> calls)
      : ReplyGrammar(std::move(calls), nullptr) {}

  const ToolCallGrammar* calls() const { return calls_.get(); }
  const CompiledSchema* answer() const { return answer_.get(); }

 private:
  std::shared_ptr<const ToolCallGrammar> calls_;
  std::shared_ptr<const CompiledSchema> answer_;
};

// Where a reply stands. Copy it to try bytes; assigning to an existing state reuses storage.
class ReplyState {
 public:
  explicit ReplyState(const ReplyGrammar& grammar);

  // False when the byte cannot come next; the state is then unspecified (work on a copy).
  bool feed(uint8_t c);
  bool feed(std::string_view bytes);
  // May the reply end here (EOS / end of turn)?
  bool can_end() const;
  // Inside a free-form JSON string (see JsonRecognizer::in_plain_string()).
  bool in_plain_string() const;
  // Only lazy tool calls are followed and the reply is in free text between them.
  bool in_free_text() const;

 private:
  std::optional<ToolCallState> calls_;
  JsonRecognizer answer_;
  bool calls_alive_ = false;
  bool answer_alive_ = false;
  bool with_answer_ = false;
};

}  // namespace toolgate::engine::constrained
