#pragma once
// The text of tool calls in a model's dialect as a byte-level grammar: the dialect's literal
// syntax around the call, the function name restricted to the allowed tools, and the arguments
// following that function's JSON schema (json_recognizer.h).
//
// A call is   [open_tag ws] { ws "name" ws : ws NAME ws , ws "<arguments_key>" ws : ws ARGS ws } [ws close_tag]
// with `ws` bounded runs of optional whitespace, the key order fixed as the chat templates teach
// it, and NAME one of the allowed names as a JSON string.
//
// Two modes:
//  - Forced (tool_choice "required" or a named function): the reply is a call from its first
//    byte (the caller feeds the forced prompt prefix first). After a call only whitespace, the
//    end of the reply or, when allowed, another call may follow.
//  - Lazy (tool_choice "auto", the way llama.cpp's lazy grammars work): the reply is free text
//    until it starts a call: the open tag anywhere, or for dialects that allow it a bare
//    {"name" ... object where a call may stand alone (start of the reply, or only whitespace
//    since the previous call). Until the call is certain (the whole open tag, or `{"name"`)
//    the bytes are still text, and a byte that breaks the pattern simply leaves it so. From
//    then to the end of the call every byte is constrained; after it, free text again.
//    Where a bare call may stand, so may one in a ```json fence (as the Hermes parser takes
//    Qwen2.5-Coder's habit): ``` [json] \n <call> ws ```.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/constrained/json_recognizer.h"
#include "engine/constrained/json_schema.h"

namespace toolgate::engine::constrained {

// How a dialect writes a call (engine/tool_dialect.h hands this out).
struct ToolCallFormat {
  std::string open_tag;   // "<tool_call>"; empty: calls are bare JSON objects
  std::string close_tag;  // "</tool_call>"
  std::string arguments_key = "arguments";
  bool bare_call_at_lead = false;  // a bare JSON call may stand where a call may start (lazy)
  bool several_calls = true;       // calls may follow one another in one reply
};

struct ToolSpec {
  std::string name;
  nlohmann::ordered_json parameters;  // JSON Schema of the arguments (key order kept); null = any object
};

enum class ConstraintMode { Forced, Lazy };

struct ToolCallGrammarOptions {
  ToolCallFormat format;
  std::vector<ToolSpec> tools;
  std::optional<std::string> only;  // calls must name this tool (tool_choice naming a function)
  ConstraintMode mode = ConstraintMode::Lazy;
  bool parallel = true;  // Forced: more calls may follow the first
};

class ToolCallGrammar {
 public:
  // Throws std::invalid_argument when no tool can be called (no tools, or `only` names none).
  explicit ToolCallGrammar(const ToolCallGrammarOptions& options);
  ToolCallGrammar(const ToolCallGrammar&) = delete;
  ToolCallGrammar& operator=(const ToolCallGrammar&) = delete;

  ConstraintMode mode() const { return mode_; }
  // Bytes that may start a call in free text: what a lazy constraint has to look at.
  const std::string& trigger_bytes() const { return trigger_bytes_; }

 private:
  friend class ToolCallState;
  enum class OpKind : uint8_t { Literal, Optional, Space, Name, Arguments };
  struct Op {
    OpKind kind;
    std::string text;  // Literal, Optional (all of it, or skipped if its first byte differs)
  };
  struct CallSyntax {
    std::vector<Op> ops;
    size_t commit_op = 0;  // a lazily started call is certain once this op is reached
  };

  SchemaSet schemas_;
  std::vector<std::string> names_;            // allowed names as JSON strings, sorted
  std::vector<const SchemaNode*> arguments_;  // schema of names_[i]'s arguments
  // [0] the dialect's call, [1] a bare JSON call, [2] a bare call in a ```json fence
  CallSyntax syntax_[3];
  bool bare_at_lead_ = false;
  int bare_index_ = 1;  // which syntax_ a bare call at the lead uses
  ConstraintMode mode_;
  bool more_calls_;  // Forced: another call may follow a complete one
  std::string trigger_bytes_;
};

// Where a reply stands in the grammar. Copy it to try bytes; copies are cheap, and assigning
// to an existing state reuses its storage (no heap in a trie walk).
class ToolCallState {
 public:
  static constexpr int kMaxWhitespace = 32;

  explicit ToolCallState(const ToolCallGrammar& grammar);

  // False when the byte cannot come next; the state is then unspecified (work on a copy).
  bool feed(uint8_t c);
  bool feed(std::string_view bytes);
  // May the reply end here (EOS / end of turn)?
  bool can_end() const;
  // Inside a call's free-form string: see JsonRecognizer::in_plain_string().
  bool in_plain_string() const;
  // Outside any call and not inside a possible call start: only trigger bytes matter.
  bool in_free_text() const { return mode_ == Mode::Free; }
  bool in_call() const { return mode_ == Mode::Call && !tentative_; }
  int calls_completed() const { return static_cast<int>(calls_); }

 private:
  enum class Mode : uint8_t { Free, Call, After };

  void free_byte(uint8_t c);
  bool call_byte(uint8_t c);
  void begin_call(int which, bool tentative);
  void next_op();

  const ToolCallGrammar* g_;
  Mode mode_;
  bool lead_ = true;        // Free: only whitespace since the start or the last call
  bool tentative_ = false;  // Call: not yet certain to be a call (lazy)
  uint8_t which_ = 0;       // Call: index into grammar syntax_
  uint8_t ws_ = 0;          // whitespace bytes in a row (Space ops, After)
  uint16_t op_ = 0;
  uint32_t op_len_ = 0;  // bytes matched in the current op
  uint32_t lo_ = 0, hi_ = 0;  // Name: candidate range in names_
  int32_t name_ = -1;
  uint32_t calls_ = 0;
  JsonRecognizer json_;
};

}  // namespace toolgate::engine::constrained
