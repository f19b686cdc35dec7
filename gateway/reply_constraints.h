#pragma once
// Seam between the gateway and constrained decoding (engine/constrained/): what a reply may be
// (tool calls in the model's dialect, a JSON answer following a response schema, or either),
// compiled once per request into a ConstraintFactory. One per local model; it owns the
// vocabulary index, built when the model loads, and a cache of compiled response schemas.
#include <memory>
#include <optional>

#include <nlohmann/json.hpp>

#include "engine/constrained/compiled_schema.h"
#include "gateway/tool_call_syntax.h"

namespace toolgate::gateway {

struct ReplyConstraintSpec {
  std::optional<ToolConstraintSpec> tools;  // calls (forced when an answer is given too)
  std::shared_ptr<const engine::constrained::CompiledSchema> answer;  // the reply is this JSON
};

class ReplyConstraints {
 public:
  virtual ~ReplyConstraints() = default;
  // The compiled schema (cached by its text); its issues say what is relaxed or wrong.
  // `object_root`: the value must be an object (json_object, tool arguments).
  virtual std::shared_ptr<const engine::constrained::CompiledSchema> compile(
      const nlohmann::ordered_json& schema, bool object_root,
      const engine::constrained::SchemaLimits& limits) const = 0;
  // Null when nothing can be constrained (calls asked of a model whose dialect is unknown and
  // no answer, or no tool left to call).
  virtual std::shared_ptr<const ConstraintFactory> make(const ReplyConstraintSpec& spec) const = 0;
};

}  // namespace toolgate::gateway
