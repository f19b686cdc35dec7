#include "engine/chat_template/parser.h"

#include <cstdlib>
#include <initializer_list>

#include "engine/chat_template.h"

namespace toolgate::engine::jinja {
namespace {

using TK = Token::Kind;

class Parser {
 public:
  explicit Parser(const std::vector<Token>& tokens) : t_(tokens) {}

  ParsedTemplate run() {
    ParsedTemplate out;
    std::string stop;
    out.body = parse_body({}, stop);
    if (peek().kind != TK::End) fail(peek().pos, "unexpected token");
    out.referenced_names = std::move(names_);
    return out;
  }

 private:
  const std::vector<Token>& t_;
  size_t i_ = 0;
  std::set<std::string> names_;

  const Token& peek(size_t k = 0) const { return t_[std::min(i_ + k, t_.size() - 1)]; }
  const Token& next() {
    const Token& tok = t_[i_];
    if (i_ + 1 < t_.size()) ++i_;
    return tok;
  }
  [[noreturn]] static void fail(SourcePos p, const std::string& msg) {
    throw TemplateError(std::to_string(p.line) + ":" + std::to_string(p.column) + ": " + msg);
  }
  static std::string describe(const Token& tok) {
    switch (tok.kind) {
      case TK::End: return "end of template";
      case TK::BlockEnd: return "'%}'";
      case TK::VarEnd: return "'}}'";
      case TK::Text: return "text";
      default: return "'" + tok.text + "'";
    }
  }
  bool is_op(const char* op, size_t k = 0) const { return peek(k).kind == TK::Op && peek(k).text == op; }
  bool is_name(const char* name, size_t k = 0) const { return peek(k).kind == TK::Name && peek(k).text == name; }
  void expect_op(const char* op) {
    if (!is_op(op)) fail(peek().pos, std::string("expected '") + op + "', got " + describe(peek()));
    next();
  }
  std::string expect_name() {
    if (peek().kind != TK::Name) fail(peek().pos, "expected a name, got " + describe(peek()));
    return next().text;
  }
  void expect_block_end() {
    if (peek().kind != TK::BlockEnd) fail(peek().pos, "expected '%}', got " + describe(peek()));
    next();
  }

  // Parses statements until a block tag whose keyword is one of `stops` (left unconsumed:
  // the BlockBegin and keyword are consumed, the keyword returned in `stop`).
  Body parse_body(std::initializer_list<const char*> stops, std::string& stop) {
    Body body;
    while (true) {
      const Token& tok = peek();
      if (tok.kind == TK::End) {
        if (stops.size() == 0) return body;
        std::string expected;
        for (const char* s : stops) expected += std::string(expected.empty() ? "" : " or ") + "'" + s + "'";
        fail(tok.pos, "unexpected end of template, expected " + expected);
      }
      if (tok.kind == TK::Text) {
        auto s = std::make_unique<Stmt>(Stmt::Kind::Text, tok.pos);
        s->text = tok.text;
        body.push_back(std::move(s));
        next();
      } else if (tok.kind == TK::VarBegin) {
        next();
        auto s = std::make_unique<Stmt>(Stmt::Kind::Output, tok.pos);
        s->expr = parse_expression();
        if (peek().kind != TK::VarEnd) fail(peek().pos, "expected '}}', got " + describe(peek()));
        next();
        body.push_back(std::move(s));
      } else if (tok.kind == TK::BlockBegin) {
        const Token& kw = peek(1);
        if (kw.kind != TK::Name) fail(kw.pos, "expected a statement keyword, got " + describe(kw));
        for (const char* s : stops) {
          if (kw.text == s) {
            next();
            next();
            stop = kw.text;
            return body;
          }
        }
        next();
        body.push_back(parse_statement());
      } else {
        fail(tok.pos, "unexpected " + describe(tok));
      }
    }
  }

  StmtPtr parse_statement() {
    const Token& kw = next();
    SourcePos pos = kw.pos;
    const std::string& k = kw.text;
    if (k == "if") return parse_if(pos);
    if (k == "for") return parse_for(pos);
    if (k == "set") return parse_set(pos);
    if (k == "macro") return parse_macro(pos);
    if (k == "call") return parse_call_block(pos);
    if (k == "filter") return parse_filter_block(pos);
    if (k == "break" || k == "continue") {
      auto s = std::make_unique<Stmt>(k == "break" ? Stmt::Kind::Break : Stmt::Kind::Continue, pos);
      expect_block_end();
      return s;
    }
    if (k == "generation") {
      // HF's assistant-mask marker: renders its body unchanged.
      auto s = std::make_unique<Stmt>(Stmt::Kind::Scope, pos);
      expect_block_end();
      std::string stop;
      s->body = parse_body({"endgeneration"}, stop);
      expect_block_end();
      return s;
    }
    fail(pos, "unknown statement '" + k + "'");
  }

  StmtPtr parse_if(SourcePos pos) {
    auto s = std::make_unique<Stmt>(Stmt::Kind::If, pos);
    s->conditions.push_back(parse_expression());
    expect_block_end();
    while (true) {
      std::string stop;
      Body body = parse_body({"elif", "else", "endif"}, stop);
      s->bodies.push_back(std::move(body));
      if (stop == "elif") {
        s->conditions.push_back(parse_expression());
        expect_block_end();
      } else if (stop == "else") {
        expect_block_end();
        std::string stop2;
        s->else_body = parse_body({"endif"}, stop2);
        expect_block_end();
        return s;
      } else {
        expect_block_end();
        return s;
      }
    }
  }

  std::vector<std::string> parse_targets() {
    std::vector<std::string> targets;
    bool paren = is_op("(");
    if (paren) next();
    targets.push_back(expect_name());
    while (is_op(",")) {
      next();
      if (peek().kind != TK::Name) break;
      targets.push_back(expect_name());
    }
    if (paren) expect_op(")");
    return targets;
  }

  StmtPtr parse_for(SourcePos pos) {
    auto s = std::make_unique<Stmt>(Stmt::Kind::For, pos);
    s->targets = parse_targets();
    if (!is_name("in")) fail(peek().pos, "expected 'in' in for loop, got " + describe(peek()));
    next();
    s->expr = parse_ternary(false);  // `if` after the iterable filters the loop
    if (is_name("if")) {
      next();
      s->cond = parse_ternary(true);
    }
    if (is_name("recursive")) fail(peek().pos, "recursive loops are not supported");
    expect_block_end();
    std::string stop;
    s->body = parse_body({"else", "endfor"}, stop);
    expect_block_end();
    if (stop == "else") {
      s->else_body = parse_body({"endfor"}, stop);
      expect_block_end();
    }
    return s;
  }

  StmtPtr parse_set(SourcePos pos) {
    std::vector<std::string> targets;
    std::string attr;
    if (peek().kind == TK::Name && is_op(".", 1)) {
      targets.push_back(next().text);
      next();
      attr = expect_name();
    } else {
      targets = parse_targets();
    }
    if (is_op("=")) {
      next();
      auto s = std::make_unique<Stmt>(Stmt::Kind::Set, pos);
      s->targets = std::move(targets);
      s->attr = std::move(attr);
      s->expr = parse_tuple_expression();
      expect_block_end();
      return s;
    }
    if (!attr.empty() || targets.size() != 1) fail(peek().pos, "expected '=' in set");
    auto s = std::make_unique<Stmt>(Stmt::Kind::SetBlock, pos);
    s->targets = std::move(targets);
    if (is_op("|")) s->expr = parse_filters(nullptr);
    expect_block_end();
    std::string stop;
    s->body = parse_body({"endset"}, stop);
    expect_block_end();
    return s;
  }

  void parse_params(std::vector<MacroParam>& params) {
    expect_op("(");
    while (!is_op(")")) {
      MacroParam p;
      p.name = expect_name();
      if (is_op("=")) {
        next();
        p.default_value = parse_expression();
      }
      params.push_back(std::move(p));
      if (!is_op(",")) break;
      next();
    }
    expect_op(")");
  }

  StmtPtr parse_macro(SourcePos pos) {
    auto s = std::make_unique<Stmt>(Stmt::Kind::Macro, pos);
    s->name = expect_name();
    parse_params(s->params);
    expect_block_end();
    std::string stop;
    s->body = parse_body({"endmacro"}, stop);
    if (peek().kind == TK::Name) next();  // {% endmacro name %}
    expect_block_end();
    return s;
  }

  StmtPtr parse_call_block(SourcePos pos) {
    auto s = std::make_unique<Stmt>(Stmt::Kind::CallBlock, pos);
    if (is_op("(")) parse_params(s->params);
    s->expr = parse_expression();
    if (s->expr->kind != Expr::Kind::Call) fail(pos, "expected a macro call in call block");
    expect_block_end();
    std::string stop;
    s->body = parse_body({"endcall"}, stop);
    expect_block_end();
    return s;
  }

  StmtPtr parse_filter_block(SourcePos pos) {
    auto s = std::make_unique<Stmt>(Stmt::Kind::FilterBlock, pos);
    s->expr = parse_filter_chain_without_subject();
    expect_block_end();
    std::string stop;
    s->body = parse_body({"endfilter"}, stop);
    expect_block_end();
    return s;
  }

  ExprPtr parse_filter_chain_without_subject() {
    ExprPtr e = parse_one_filter(nullptr);
    return parse_filters(std::move(e));
  }

  // ---- expressions ----

  ExprPtr make(Expr::Kind k, SourcePos p) { return std::make_unique<Expr>(k, p); }

  // An expression that may be a bare tuple: `set a, b = 1, 2`.
  ExprPtr parse_tuple_expression() {
    SourcePos pos = peek().pos;
    ExprPtr first = parse_expression();
    if (!is_op(",")) return first;
    auto tuple = make(Expr::Kind::Tuple, pos);
    tuple->args.push_back(std::move(first));
    while (is_op(",")) {
      next();
      if (peek().kind == TK::BlockEnd || peek().kind == TK::VarEnd) break;
      tuple->args.push_back(parse_expression());
    }
    return tuple;
  }

  ExprPtr parse_expression() { return parse_ternary(true); }

  ExprPtr parse_ternary(bool allow_condexpr) {
    ExprPtr e = parse_or();
    while (allow_condexpr && is_name("if")) {
      SourcePos pos = peek().pos;
      next();
      auto t = make(Expr::Kind::Ternary, pos);
      t->args.push_back(parse_or());
      t->args.push_back(std::move(e));
      if (is_name("else")) {
        next();
        t->args.push_back(parse_ternary(true));
      } else {
        t->args.push_back(nullptr);
      }
      e = std::move(t);
    }
    return e;
  }

  ExprPtr binary(const std::string& op, ExprPtr l, ExprPtr r, SourcePos pos) {
    auto b = make(Expr::Kind::Binary, pos);
    b->name = op;
    b->args.push_back(std::move(l));
    b->args.push_back(std::move(r));
    return b;
  }

  ExprPtr parse_or() {
    ExprPtr e = parse_and();
    while (is_name("or")) {
      SourcePos pos = next().pos;
      e = binary("or", std::move(e), parse_and(), pos);
    }
    return e;
  }

  ExprPtr parse_and() {
    ExprPtr e = parse_not();
    while (is_name("and")) {
      SourcePos pos = next().pos;
      e = binary("and", std::move(e), parse_not(), pos);
    }
    return e;
  }

  ExprPtr parse_not() {
    if (is_name("not")) {
      SourcePos pos = next().pos;
      auto u = make(Expr::Kind::Unary, pos);
      u->name = "not";
      u->args.push_back(parse_not());
      return u;
    }
    return parse_compare();
  }

  ExprPtr parse_compare() {
    ExprPtr e = parse_math1();
    // Chained comparisons (a < b < c) become (a < b) and (b < c); the middle operand is
    // re-parsed from the same tokens, which is harmless as expressions have no side effects
    // that chat templates rely on.
    while (true) {
      SourcePos pos = peek().pos;
      std::string op;
      if (peek().kind == TK::Op &&
          (is_op("==") || is_op("!=") || is_op("<") || is_op("<=") || is_op(">") || is_op(">="))) {
        op = next().text;
      } else if (is_name("in")) {
        next();
        op = "in";
      } else if (is_name("not") && is_name("in", 1)) {
        next();
        next();
        op = "not in";
      } else {
        return e;
      }
      e = binary(op, std::move(e), parse_math1(), pos);
    }
  }

  ExprPtr parse_math1() {
    ExprPtr e = parse_concat();
    while (is_op("+") || is_op("-")) {
      const Token& op = next();
      e = binary(op.text, std::move(e), parse_concat(), op.pos);
    }
    return e;
  }

  ExprPtr parse_concat() {
    ExprPtr e = parse_math2();
    while (is_op("~")) {
      SourcePos pos = next().pos;
      e = binary("~", std::move(e), parse_math2(), pos);
    }
    return e;
  }

  ExprPtr parse_math2() {
    ExprPtr e = parse_pow();
    while (is_op("*") || is_op("/") || is_op("//") || is_op("%")) {
      const Token& op = next();
      e = binary(op.text, std::move(e), parse_pow(), op.pos);
    }
    return e;
  }

  ExprPtr parse_pow() {
    ExprPtr e = parse_unary(true);
    while (is_op("**")) {
      SourcePos pos = next().pos;
      e = binary("**", std::move(e), parse_unary(true), pos);
    }
    return e;
  }

  ExprPtr parse_unary(bool with_filter) {
    ExprPtr e;
    if (is_op("-") || is_op("+")) {
      const Token& op = next();
      e = make(Expr::Kind::Unary, op.pos);
      e->name = op.text;
      e->args.push_back(parse_unary(false));
    } else {
      e = parse_primary();
    }
    e = parse_postfix(std::move(e));
    if (with_filter) e = parse_filters(std::move(e));
    return e;
  }

  ExprPtr parse_primary() {
    const Token& tok = peek();
    SourcePos pos = tok.pos;
    switch (tok.kind) {
      case TK::Name: {
        next();
        const std::string& n = tok.text;
        auto lit = make(Expr::Kind::Literal, pos);
        if (n == "true" || n == "True") lit->value = Value(true);
        else if (n == "false" || n == "False") lit->value = Value(false);
        else if (n == "none" || n == "None") lit->value = Value::none();
        else {
          auto name = make(Expr::Kind::Name, pos);
          name->name = n;
          names_.insert(n);
          return name;
        }
        return lit;
      }
      case TK::String: {
        std::string s;
        while (peek().kind == TK::String) s += next().text;  // adjacent literals concatenate
        auto lit = make(Expr::Kind::Literal, pos);
        lit->value = Value(std::move(s));
        return lit;
      }
      case TK::Int: {
        next();
        auto lit = make(Expr::Kind::Literal, pos);
        try {
          lit->value = Value(static_cast<int64_t>(std::stoll(tok.text)));
        } catch (const std::exception&) {
          fail(pos, "integer literal out of range");
        }
        return lit;
      }
      case TK::Float: {
        next();
        auto lit = make(Expr::Kind::Literal, pos);
        // strtod, not stod: Python reads 1e999 as inf and 1e-999 as 0.0 where stod throws.
        lit->value = Value(std::strtod(tok.text.c_str(), nullptr));
        return lit;
      }
      case TK::Op:
        if (tok.text == "(") {
          next();
          if (is_op(")")) {
            next();
            return make(Expr::Kind::Tuple, pos);
          }
          ExprPtr e = parse_expression();
          if (is_op(",")) {
            auto tuple = make(Expr::Kind::Tuple, pos);
            tuple->args.push_back(std::move(e));
            while (is_op(",")) {
              next();
              if (is_op(")")) break;
              tuple->args.push_back(parse_expression());
            }
            e = std::move(tuple);
          }
          expect_op(")");
          return e;
        }
        if (tok.text == "[") {
          next();
          auto list = make(Expr::Kind::List, pos);
          while (!is_op("]")) {
            list->args.push_back(parse_expression());
            if (!is_op(",")) break;
            next();
          }
          expect_op("]");
          return list;
        }
        if (tok.text == "{") {
          next();
          auto dict = make(Expr::Kind::Dict, pos);
          while (!is_op("}")) {
            dict->args.push_back(parse_expression());
            expect_op(":");
            dict->args.push_back(parse_expression());
            if (!is_op(",")) break;
            next();
          }
          expect_op("}");
          return dict;
        }
        break;
      default: break;
    }
    fail(pos, "unexpected " + describe(tok) + " in expression");
  }

  void parse_call_args(Expr& call) {
    expect_op("(");
    while (!is_op(")")) {
      if (peek().kind == TK::Name && is_op("=", 1)) {
        std::string key = next().text;
        next();
        call.kwargs.emplace_back(key, parse_expression());
      } else {
        call.args.push_back(parse_expression());
      }
      if (!is_op(",")) break;
      next();
    }
    expect_op(")");
  }

  ExprPtr parse_postfix(ExprPtr e) {
    while (true) {
      if (is_op(".")) {
        SourcePos pos = next().pos;
        auto a = make(Expr::Kind::Attribute, pos);
        if (peek().kind == TK::Int) {
          auto idx = make(Expr::Kind::Subscript, pos);
          auto lit = make(Expr::Kind::Literal, pos);
          const Token& index = next();
          try {
            lit->value = Value(static_cast<int64_t>(std::stoll(index.text)));
          } catch (const std::exception&) {
            fail(index.pos, "integer literal out of range");
          }
          idx->args.push_back(std::move(e));
          idx->args.push_back(std::move(lit));
          e = std::move(idx);
          continue;
        }
        a->name = expect_name();
        a->args.push_back(std::move(e));
        e = std::move(a);
      } else if (is_op("[")) {
        SourcePos pos = next().pos;
        ExprPtr parts[3];
        int n = 0;
        bool is_slice = false;
        while (true) {
          if (!is_op(":") && !is_op("]")) parts[n] = parse_expression();
          if (is_op(":") && n < 2) {
            next();
            is_slice = true;
            ++n;
            continue;
          }
          break;
        }
        expect_op("]");
        if (is_slice) {
          auto s = make(Expr::Kind::Slice, pos);
          s->args.push_back(std::move(e));
          for (auto& p : parts) s->args.push_back(std::move(p));
          e = std::move(s);
        } else {
          if (!parts[0]) fail(pos, "empty subscript");
          auto s = make(Expr::Kind::Subscript, pos);
          s->args.push_back(std::move(e));
          s->args.push_back(std::move(parts[0]));
          e = std::move(s);
        }
      } else if (is_op("(")) {
        auto c = make(Expr::Kind::Call, peek().pos);
        c->args.push_back(std::move(e));
        parse_call_args(*c);
        e = std::move(c);
      } else {
        return e;
      }
    }
  }

  ExprPtr parse_one_filter(ExprPtr subject) {
    SourcePos pos = peek().pos;
    auto f = make(Expr::Kind::Filter, pos);
    f->name = expect_name();
    while (is_op(".")) {  // dotted filter names
      next();
      f->name += '.';
      f->name += expect_name();
    }
    f->args.push_back(std::move(subject));
    if (is_op("(")) parse_call_args(*f);
    return f;
  }

  ExprPtr parse_filters(ExprPtr e) {
    while (true) {
      if (is_op("|")) {
        next();
        e = parse_one_filter(std::move(e));
      } else if (is_name("is")) {
        SourcePos pos = next().pos;
        auto t = make(Expr::Kind::Test, pos);
        if (is_name("not")) {
          next();
          t->negated = true;
        }
        t->name = expect_name();
        t->args.push_back(std::move(e));
        if (is_op("(")) {
          parse_call_args(*t);
        } else if ((peek().kind == TK::Name && !is_name("else") && !is_name("or") && !is_name("and") &&
                    !is_name("if") && !is_name("not") && !is_name("in") && !is_name("is")) ||
                   peek().kind == TK::String || peek().kind == TK::Int || peek().kind == TK::Float ||
                   is_op("[") || is_op("{")) {
          // `x is divisibleby 3`, `x is sameas none`: one bare argument
          t->args.push_back(parse_unary(false));
        }
        e = std::move(t);
      } else if (is_op("(")) {
        auto c = make(Expr::Kind::Call, peek().pos);
        c->args.push_back(std::move(e));
        parse_call_args(*c);
        e = std::move(c);
      } else {
        return e;
      }
    }
  }
};

}  // namespace

ParsedTemplate parse(const std::vector<Token>& tokens) { return Parser(tokens).run(); }

}  // namespace toolgate::engine::jinja
