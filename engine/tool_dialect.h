#pragma once
// How a model family writes tool calls in its generated text, and an incremental parser that
// splits streamed text into plain content and tool calls.
//
// Streaming contract (all dialects):
//  - Content is released as soon as it cannot be the start of a call marker; a partial marker
//    ("<tool", "<|python") is held back until it is decided.
//  - A tool call is emitted once its JSON object is complete and valid, as ONE delta carrying
//    the name and the whole arguments. `arguments` is the compact JSON text of the arguments
//    object (no insignificant whitespace, the model's key order kept, UTF-8 left as is), so it
//    always parses. A call is never emitted half-way: a call that turns out malformed or is cut
//    off by the end of generation becomes content (its raw text) plus a warning instead.
//  - Feeding text in any split gives the same concatenated content and the same calls.
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/constrained/tool_call_grammar.h"

namespace toolgate::engine {

struct ToolCallDelta {
  int index = 0;        // position of the call in this response, 0-based
  std::string id_hint;  // an id the model wrote itself, if any ("" = caller assigns one)
  std::string name;     // non-empty only on the first delta of a call
  std::string arguments;
};

struct ParserOutput {
  std::string content;
  std::vector<ToolCallDelta> tool_calls;
};

class ToolCallParser {
 public:
  virtual ~ToolCallParser() = default;
  virtual ParserOutput feed(std::string_view text) = 0;
  // End of generation: flushes held-back text; an unterminated call becomes content.
  virtual ParserOutput finish() = 0;
  virtual std::vector<std::string> warnings() const = 0;
};

class ToolDialect {
 public:
  virtual ~ToolDialect() = default;
  virtual std::string_view name() const = 0;  // "hermes", "llama3_json", "generic"
  virtual std::unique_ptr<ToolCallParser> make_parser() const = 0;
  // Text appended after the generation prompt to force a call (tool_choice required/named).
  // The caller feeds the same text to a fresh parser first; that produces no output.
  virtual std::string forced_call_prefix(const std::optional<std::string>& function_name) const = 0;
  // The call syntax for constrained decoding (engine/constrained/); it accepts the text of
  // forced_call_prefix() and every call this dialect's parser extracts in its canonical form.
  virtual constrained::ToolCallFormat call_format() const = 0;
};

// Chooses the dialect from the chat template text and the GGUF architecture, unless
// override_name names one ("hermes", "llama3_json", "generic"; anything else throws
// std::invalid_argument).
std::unique_ptr<ToolDialect> make_tool_dialect(std::string_view chat_template, std::string_view architecture,
                                               std::optional<std::string_view> override_name = std::nullopt);

}  // namespace toolgate::engine
