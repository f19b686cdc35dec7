#pragma once
// Recursive-descent parser for the Jinja2 subset chat templates use. Operator precedence
// follows Jinja2's parser: ternary < or < and < not < comparisons < + - < ~ < * / // % < **
// < unary minus < postfix (attribute, subscript, call) and filters/tests.
#include <set>
#include <string>
#include <vector>

#include "engine/chat_template/ast.h"
#include "engine/chat_template/lexer.h"

namespace toolgate::engine::jinja {

struct ParsedTemplate {
  Body body;
  std::set<std::string> referenced_names;  // every Name read anywhere in the template
};

// Throws TemplateError ("line:column: message").
ParsedTemplate parse(const std::vector<Token>& tokens);

}  // namespace toolgate::engine::jinja
