#pragma once
// Seam between the gateway and the model family's tool-call dialect (engine/tool_dialect.h):
// how tool calls look in generated text, and how to force one. The shapes mirror the engine's
// ToolCallParser so the adapter is a field-by-field copy.
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace toolgate::engine {
class LogitsProcessor;
}

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

// What a constraint on generated tool calls allows (see gateway/README.md, "Tool calling").
struct ToolConstraintSpec {
  nlohmann::ordered_json tools;     // OpenAI tools array: the callable functions and schemas
  std::optional<std::string> only;  // calls must name this function (tool_choice named)
  bool forced = false;  // the reply is a call from its first token; otherwise calls are
                        // constrained only once the model starts one (lazily)
  bool parallel = true;  // forced: more calls may follow the first
};

// Makes the per-generation constraint objects for one request (reply_constraints.h).
class ConstraintFactory {
 public:
  virtual ~ConstraintFactory() = default;
  // A fresh constraint for one engine submission; `prefix` is the text the reply continues
  // from that is already in the prompt (the forced call prefix, or ""). Null if the prefix
  // does not fit the constraint (the generation then runs unconstrained).
  virtual std::shared_ptr<engine::LogitsProcessor> make(std::string_view prefix) const = 0;
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
