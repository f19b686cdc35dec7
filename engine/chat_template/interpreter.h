#pragma once
// Walks a parsed template and renders it. Scoping follows Jinja2: `for` bodies and macros
// get their own scope, `if` does not; macros see the scope they were defined in.
#include <memory>
#include <string>
#include <unordered_map>

#include "engine/chat_template/ast.h"
#include "engine/chat_template/parser.h"

namespace toolgate::engine::jinja {

struct Scope {
  explicit Scope(std::shared_ptr<Scope> p) : parent(std::move(p)) {}
  std::unordered_map<std::string, Value> vars;
  std::shared_ptr<Scope> parent;
  const Value* lookup(const std::string& name) const;
};

// Renders `tmpl` with `variables` (a dict of top-level names). Throws TemplateError.
std::string render_template(const ParsedTemplate& tmpl, const Object& variables);

}  // namespace toolgate::engine::jinja
