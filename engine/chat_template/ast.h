#pragma once
// Syntax tree of a parsed template: expressions and statements, each with the source
// position it came from so runtime errors can name a line and column.
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "engine/chat_template/value.h"

namespace toolgate::engine::jinja {

struct SourcePos {
  int line = 0;
  int column = 0;
};

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

struct Expr {
  enum class Kind {
    Literal,    // value
    Name,       // name
    Attribute,  // args[0].name
    Subscript,  // args[0][args[1]]
    Slice,      // args[0][args[1]:args[2]:args[3]] (null children for omitted parts)
    Call,       // args[0](args[1..], kwargs)
    Filter,     // args[0] | name(args[1..], kwargs); args[0] may be null inside {% filter %}
    Test,       // args[0] is [not] name(args[1..])
    Unary,      // name in {"-", "+", "not"} applied to args[0]
    Binary,     // args[0] name args[1]: + - * / // % ** ~ and or in "not in" == != < <= > >=
    Ternary,    // args[1] if args[0] else args[2] (args[2] may be null)
    List,       // [args...]
    Tuple,      // (args...)
    Dict,       // {args[0]: args[1], args[2]: args[3], ...}
  };
  Kind kind;
  SourcePos pos;
  std::string name;
  Value value;
  bool negated = false;
  std::vector<ExprPtr> args;
  std::vector<std::pair<std::string, ExprPtr>> kwargs;

  Expr(Kind k, SourcePos p) : kind(k), pos(p) {}
};

struct Stmt;
using StmtPtr = std::unique_ptr<Stmt>;
using Body = std::vector<StmtPtr>;

struct MacroParam {
  std::string name;
  ExprPtr default_value;  // may be null
};

struct Stmt {
  enum class Kind {
    Text,         // text
    Output,       // {{ expr }}
    If,           // conditions[i] -> bodies[i]; else_body
    For,          // for targets in expr [if cond] body else else_body
    Set,          // set targets = expr, or set target.attr = expr (attr non-empty)
    SetBlock,     // set target %}body{% endset (optional filter expr applied to the body)
    Macro,        // macro name(params) body
    CallBlock,    // call(params) expr body: `caller` is body
    FilterBlock,  // filter expr body
    Break,
    Continue,
    Scope,        // body rendered in place (generation blocks)
  };
  Kind kind;
  SourcePos pos;
  std::string text;
  std::string name;
  std::string attr;
  std::vector<std::string> targets;
  ExprPtr expr;
  ExprPtr cond;
  std::vector<ExprPtr> conditions;
  std::vector<Body> bodies;
  Body body;
  Body else_body;
  std::vector<MacroParam> params;

  Stmt(Kind k, SourcePos p) : kind(k), pos(p) {}
};

}  // namespace toolgate::engine::jinja
