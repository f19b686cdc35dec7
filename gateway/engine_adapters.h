#pragma once
// The real implementations of the gateway's seams, built from what a loaded engine knows about
// its model: the chat template (GGUF tokenizer.chat_template) and the tool-call dialect of the
// model family.
#include <memory>
#include <optional>
#include <string>

#include "engine/engine.h"
#include "gateway/prompt_renderer.h"
#include "gateway/reply_constraints.h"
#include "gateway/tool_call_syntax.h"

namespace toolgate::gateway {

// Throws std::runtime_error when the model has no usable chat template.
std::shared_ptr<const PromptRenderer> make_chat_template_renderer(
    const engine::Engine& engine, std::optional<std::string> template_override = std::nullopt);

// Null when the model family has no known tool-call format (tools are then still rendered, but
// calls are not extracted from the text).
std::shared_ptr<const ToolCallSyntax> make_tool_call_syntax(
    const engine::Engine& engine, std::optional<std::string> dialect_override = std::nullopt);

// Constrained decoding for this model: response schemas always, tool calls when the model
// family's dialect is known. Builds the vocabulary index now (about a second for a 150k
// vocabulary), so no request waits for it.
std::shared_ptr<const ReplyConstraints> make_reply_constraints(
    const engine::Engine& engine, std::optional<std::string> dialect_override = std::nullopt);

// Whole file as text; throws std::runtime_error naming the file.
std::string read_text_file(const std::string& path);

}  // namespace toolgate::gateway
