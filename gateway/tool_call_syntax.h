#pragma once
// Seam between the gateway and the model family's tool-call dialect (engine/tool_dialect.h):
// how tool calls look in generated text, and how to force one. The shapes mirror the engine's
// ToolCallParser so the adapter is a field-by-field copy.
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace toolgate::gateway {

struct ToolCallFragment {
  int index = 0;          // which call of this generation (0, 1, ...)
  std::string id_hint;    // id the model wrote, if any (the gateway makes its own call_ ids)
  std::string name;       // set on the first fragment of a call only
  std::string arguments;  // a piece of the JSON arguments text
};

struct ParsedText {
  std::string content;  // plain text for the client (markup removed)
  std::vector<ToolCallFragment> tool_calls;
};

// Incremental: feed() pieces of generated text as they arrive, finish() once at the end.
class ToolCallStreamParser {
 public:
  virtual ~ToolCallStreamParser() = default;
  virtual ParsedText feed(std::string_view text) = 0;
  virtual ParsedText finish() = 0;
};

class ToolCallSyntax {
 public:
  virtual ~ToolCallSyntax() = default;
  virtual std::unique_ptr<ToolCallStreamParser> make_parser() const = 0;
  // Text appended to the prompt to make the model start a tool call (of `name`, if given);
  // the parser is primed with the same text.
  virtual std::string forced_call_prefix(std::optional<std::string> name) const = 0;
};

}  // namespace toolgate::gateway
