#pragma once
// Splits template source into text and tag tokens, applying Jinja2's whitespace control the
// way Hugging Face configures it: trim_blocks (drop the first newline after a block or
// comment tag), lstrip_blocks (drop spaces/tabs before a block or comment tag that starts a
// line), `-` and `+` modifiers, and keep_trailing_newline=False.
#include <string>
#include <vector>

#include "engine/chat_template/ast.h"

namespace toolgate::engine::jinja {

struct Token {
  enum class Kind { Text, VarBegin, VarEnd, BlockBegin, BlockEnd, Name, String, Int, Float, Op, End };
  Kind kind;
  std::string text;  // text, name, operator, or decoded string literal
  SourcePos pos;
};

// Throws TemplateError ("line:column: message") on an unterminated tag or string.
std::vector<Token> tokenize(const std::string& source);

}  // namespace toolgate::engine::jinja
