#include "engine/chat_template/interpreter.h"

#include <cmath>

#include "engine/chat_template.h"
#include "engine/chat_template/builtins.h"

namespace toolgate::engine::jinja {

const Value* Scope::lookup(const std::string& name) const {
  for (const Scope* s = this; s; s = s->parent.get()) {
    auto it = s->vars.find(name);
    if (it != s->vars.end()) return &it->second;
  }
  return nullptr;
}

namespace {

using ScopePtr = std::shared_ptr<Scope>;

enum class Flow { Normal, Break, Continue };

[[noreturn]] void fail(SourcePos p, const std::string& msg) {
  throw TemplateError(std::to_string(p.line) + ":" + std::to_string(p.column) + ": " + msg);
}

// Python-style index normalisation for a negative subscript.
bool normalize_index(int64_t& idx, size_t size) {
  if (idx < 0) idx += static_cast<int64_t>(size);
  return idx >= 0 && idx < static_cast<int64_t>(size);
}

template <typename T>
std::vector<T> python_slice(const std::vector<T>& items, const Value& start_v, const Value& stop_v,
                            const Value& step_v) {
  int64_t n = static_cast<int64_t>(items.size());
  int64_t step = (step_v.is_undefined() || step_v.is_none()) ? 1 : step_v.as_int();
  if (step == 0) throw std::runtime_error("slice step cannot be zero");
  auto clamp = [&](const Value& v, int64_t dflt) -> int64_t {
    if (v.is_undefined() || v.is_none()) return dflt;
    int64_t i = v.as_int();
    if (i < 0) i += n;
    if (step > 0) return std::max<int64_t>(0, std::min(i, n));
    return std::max<int64_t>(-1, std::min(i, n - 1));
  };
  int64_t start = clamp(start_v, step > 0 ? 0 : n - 1);
  int64_t stop = clamp(stop_v, step > 0 ? n : -1);
  std::vector<T> out;
  if (step > 0)
    for (int64_t i = start; i < stop; i += step) out.push_back(items[static_cast<size_t>(i)]);
  else
    for (int64_t i = start; i > stop; i += step) out.push_back(items[static_cast<size_t>(i)]);
  return out;
}

Value arith(const std::string& op, const Value& l, const Value& r) {
  if (op == "+") {
    if (l.is_markup() || r.is_markup()) {
      if ((l.is_string() || r.is_string()) && (l.is_string() || l.is_undefined() || l.is_none() || l.is_number()) &&
          (r.is_string() || r.is_undefined() || r.is_none() || r.is_number())) {
        auto part = [](const Value& v) { return v.is_markup() ? v.str() : html_escape(v.to_str()); };
        return Value::markup(part(l) + part(r));
      }
    }
    if (l.is_string() && r.is_string()) return Value(l.str() + r.str());
    if (l.is_array() && r.is_array()) {
      Array a = l.array();
      a.insert(a.end(), r.array().begin(), r.array().end());
      return Value(std::move(a));
    }
    // Lenient where Python would raise: a missing/None operand next to a string acts as "".
    if (l.is_string() && (r.is_undefined() || r.is_none())) return l;
    if (r.is_string() && (l.is_undefined() || l.is_none())) return r;
  }
  if (op == "*") {
    const Value* seq = l.is_string() || l.is_array() ? &l : r.is_string() || r.is_array() ? &r : nullptr;
    const Value* cnt = seq == &l ? &r : &l;
    if (seq && cnt->is_int()) {
      int64_t n = std::max<int64_t>(0, cnt->as_int());
      if (seq->is_string()) {
        std::string s;
        for (int64_t i = 0; i < n; ++i) s += seq->str();
        return Value(std::move(s));
      }
      Array a;
      for (int64_t i = 0; i < n; ++i) a.insert(a.end(), seq->array().begin(), seq->array().end());
      return Value(std::move(a));
    }
  }
  if (!l.is_number() || !r.is_number())
    throw std::runtime_error("unsupported operand type(s) for " + op + ": '" + l.type_name() + "' and '" +
                             r.type_name() + "'");
  bool ints = !l.is_float() && !r.is_float();
  if (op == "/") {
    if (r.as_double() == 0) throw std::runtime_error("division by zero");
    return Value(l.as_double() / r.as_double());
  }
  if (ints) {
    int64_t a = l.as_int(), b = r.as_int();
    if (op == "+") return Value(a + b);
    if (op == "-") return Value(a - b);
    if (op == "*") return Value(a * b);
    if (op == "//" || op == "%") {
      if (b == 0) throw std::runtime_error("integer division or modulo by zero");
      int64_t q = a / b, m = a % b;
      if (m != 0 && ((m < 0) != (b < 0))) {
        --q;
        m += b;
      }
      return Value(op == "//" ? q : m);
    }
    if (op == "**") {
      if (b < 0) return Value(std::pow(static_cast<double>(a), static_cast<double>(b)));
      int64_t res = 1;
      for (int64_t i = 0; i < b; ++i) res *= a;
      return Value(res);
    }
  } else {
    double a = l.as_double(), b = r.as_double();
    if (op == "+") return Value(a + b);
    if (op == "-") return Value(a - b);
    if (op == "*") return Value(a * b);
    if (op == "//" || op == "%") {
      if (b == 0) throw std::runtime_error("float division by zero");
      double q = std::floor(a / b);
      return Value(op == "//" ? q : a - q * b);
    }
    if (op == "**") return Value(std::pow(a, b));
  }
  throw std::runtime_error("unknown operator " + op);
}

bool contains(const Value& container, const Value& item) {
  if (container.is_string()) {
    if (!item.is_string()) throw std::runtime_error("'in <string>' requires string as left operand");
    return container.str().find(item.str()) != std::string::npos;
  }
  if (container.is_array()) {
    for (const auto& e : container.array())
      if (e.equals(item)) return true;
    return false;
  }
  if (container.is_object()) return container.obj().find(item.to_str()) != nullptr;
  if (container.is_undefined() || container.is_none()) return false;
  throw std::runtime_error("argument of type '" + container.type_name() + "' is not iterable");
}

// Items a `for` loop visits: list elements, dict keys, string characters.
Array iterate(const Value& v) {
  if (v.is_array()) return v.array();
  if (v.is_object()) {
    Array keys;
    for (size_t i = 0; i < v.obj().items.size(); ++i) keys.push_back(v.obj().key_at(i));
    return keys;
  }
  if (v.is_string()) {
    Array chars;
    for (auto& c : utf8_chars(v.str())) chars.emplace_back(std::move(c));
    return chars;
  }
  if (v.is_undefined() || v.is_none()) return {};
  throw std::runtime_error("'" + v.type_name() + "' object is not iterable");
}

class Renderer {
 public:
  explicit Renderer(ScopePtr root) : root_(std::move(root)) {}

  Flow exec_body(const Body& body, const ScopePtr& scope, std::string& out) {
    for (const auto& s : body) {
      Flow f = exec(*s, scope, out);
      if (f != Flow::Normal) return f;
    }
    return Flow::Normal;
  }

 private:
  ScopePtr root_;
  int depth_ = 0;

  struct DepthGuard {
    explicit DepthGuard(int& d) : d_(d) {
      if (++d_ > 200) throw std::runtime_error("maximum recursion depth exceeded");
    }
    ~DepthGuard() { --d_; }
    int& d_;
  };

  Flow exec(const Stmt& s, const ScopePtr& scope, std::string& out) {
    try {
      return exec_inner(s, scope, out);
    } catch (const TemplateError&) {
      throw;
    } catch (const std::exception& e) {
      fail(s.pos, e.what());
    }
  }

  void assign(const std::vector<std::string>& targets, const Value& v, Scope& scope) {
    if (targets.size() == 1) {
      scope.vars[targets[0]] = v;
      return;
    }
    Array items = iterate(v);
    if (items.size() != targets.size())
      throw std::runtime_error("cannot unpack " + std::to_string(items.size()) + " values into " +
                               std::to_string(targets.size()) + " names");
    for (size_t i = 0; i < targets.size(); ++i) scope.vars[targets[i]] = items[i];
  }

  Flow exec_inner(const Stmt& s, const ScopePtr& scope, std::string& out) {
    switch (s.kind) {
      case Stmt::Kind::Text: out += s.text; return Flow::Normal;
      case Stmt::Kind::Output: out += eval(*s.expr, scope).to_str(); return Flow::Normal;
      case Stmt::Kind::If:
        for (size_t i = 0; i < s.conditions.size(); ++i)
          if (eval(*s.conditions[i], scope).truthy()) return exec_body(s.bodies[i], scope, out);
        return exec_body(s.else_body, scope, out);
      case Stmt::Kind::For: return exec_for(s, scope, out);
      case Stmt::Kind::Set: {
        Value v = eval(*s.expr, scope);
        if (!s.attr.empty()) {
          const Value* target = scope->lookup(s.targets[0]);
          if (!target || !target->is_object())
            throw std::runtime_error("cannot assign attribute on non-namespace object '" + s.targets[0] + "'");
          target->obj().set(s.attr, v);
        } else {
          assign(s.targets, v, *scope);
        }
        return Flow::Normal;
      }
      case Stmt::Kind::SetBlock: {
        std::string captured;
        exec_body(s.body, scope, captured);
        Value v(std::move(captured));
        if (s.expr) v = eval_filter_chain(*s.expr, v, scope);
        scope->vars[s.targets[0]] = v;
        return Flow::Normal;
      }
      case Stmt::Kind::Macro: scope->vars[s.name] = make_macro(s, scope); return Flow::Normal;
      case Stmt::Kind::CallBlock: {
        // `caller` reaches the macro as an implicit keyword argument, as in Jinja2.
        const Expr& call = *s.expr;
        Value callee = eval(*call.args[0], scope);
        CallArgs args = eval_args(call, scope, 1);
        args.named.emplace_back("caller", make_macro(s, scope, "caller"));
        out += callee.call(args).to_str();
        return Flow::Normal;
      }
      case Stmt::Kind::FilterBlock: {
        std::string captured;
        exec_body(s.body, scope, captured);
        out += eval_filter_chain(*s.expr, Value(std::move(captured)), scope).to_str();
        return Flow::Normal;
      }
      case Stmt::Kind::Break: return Flow::Break;
      case Stmt::Kind::Continue: return Flow::Continue;
      case Stmt::Kind::Scope: return exec_body(s.body, scope, out);
    }
    return Flow::Normal;
  }

  Flow exec_for(const Stmt& s, const ScopePtr& scope, std::string& out) {
    Array all = iterate(eval(*s.expr, scope));
    auto loop_scope = std::make_shared<Scope>(scope);
    Array items;
    if (s.cond) {
      // `for x in xs if cond`: the condition sees the loop variable, and loop.* counts
      // only the items that pass.
      for (auto& item : all) {
        assign(s.targets, item, *loop_scope);
        if (eval(*s.cond, loop_scope).truthy()) items.push_back(item);
      }
    } else {
      items = std::move(all);
    }
    if (items.empty()) return exec_body(s.else_body, scope, out);
    size_t n = items.size();
    for (size_t i = 0; i < n; ++i) {
      auto loop = std::make_shared<Object>();
      loop->set("index", Value(static_cast<int64_t>(i + 1)));
      loop->set("index0", Value(static_cast<int64_t>(i)));
      loop->set("revindex", Value(static_cast<int64_t>(n - i)));
      loop->set("revindex0", Value(static_cast<int64_t>(n - i - 1)));
      loop->set("first", Value(i == 0));
      loop->set("last", Value(i + 1 == n));
      loop->set("length", Value(static_cast<int64_t>(n)));
      loop->set("depth", Value(1));
      loop->set("depth0", Value(0));
      loop->set("previtem", i > 0 ? items[i - 1] : Value());
      loop->set("nextitem", i + 1 < n ? items[i + 1] : Value());
      loop->set("cycle", Value::function("cycle", [i](CallArgs& a) -> Value {
                  if (a.positional.empty()) throw std::runtime_error("no items for cycling given");
                  return a.positional[i % a.positional.size()];
                }));
      loop_scope->vars["loop"] = Value(loop);
      assign(s.targets, items[i], *loop_scope);
      Flow f = exec_body(s.body, loop_scope, out);
      if (f == Flow::Break) break;
    }
    return Flow::Normal;
  }

  Value make_macro(const Stmt& s, const ScopePtr& closure, const std::string& name_override = "") {
    const Stmt* def = &s;
    std::string name = name_override.empty() ? s.name : name_override;
    // The closure is held weakly: a macro lives in (a child of) the scope it closes over, and
    // a strong reference would make a cycle that is never freed.
    std::weak_ptr<Scope> weak_closure = closure;
    return Value::function(name, [this, def, weak_closure](CallArgs& args) -> Value {
      DepthGuard guard(depth_);
      ScopePtr closure = weak_closure.lock();
      if (!closure) throw std::runtime_error("macro called after its defining scope ended");
      auto scope = std::make_shared<Scope>(closure);
      size_t np = def->params.size();
      Array varargs;
      auto kwargs = std::make_shared<Object>();
      for (size_t i = 0; i < args.positional.size(); ++i) {
        if (i < np) scope->vars[def->params[i].name] = args.positional[i];
        else varargs.push_back(args.positional[i]);
      }
      for (auto& [k, v] : args.named) {
        bool matched = k == "caller";
        if (matched) scope->vars[k] = v;
        for (const auto& p : def->params)
          if (p.name == k) {
            scope->vars[k] = v;
            matched = true;
          }
        if (!matched) kwargs->set(k, v);
      }
      for (size_t i = 0; i < np; ++i) {
        const auto& p = def->params[i];
        if (scope->vars.count(p.name)) continue;
        scope->vars[p.name] = p.default_value ? eval(*p.default_value, scope) : Value();
      }
      scope->vars["varargs"] = Value(std::move(varargs));
      scope->vars["kwargs"] = Value(kwargs);
      std::string out;
      exec_body(def->body, scope, out);
      return Value(std::move(out));
    });
  }

  // Applies a filter chain parsed with a null innermost subject (filter blocks, set blocks).
  Value eval_filter_chain(const Expr& e, const Value& subject, const ScopePtr& scope) {
    Value inner = e.args[0] ? eval_filter_chain(*e.args[0], subject, scope) : subject;
    CallArgs args = eval_args(e, scope, 1);
    return apply_filter(e.name, inner, args);
  }

  CallArgs eval_args(const Expr& e, const ScopePtr& scope, size_t first) {
    CallArgs args;
    for (size_t i = first; i < e.args.size(); ++i) args.positional.push_back(eval(*e.args[i], scope));
    for (const auto& [k, v] : e.kwargs) args.named.emplace_back(k, eval(*v, scope));
    return args;
  }

 public:
  Value eval(const Expr& e, const ScopePtr& scope) {
    try {
      return eval_inner(e, scope);
    } catch (const TemplateError&) {
      throw;
    } catch (const std::exception& ex) {
      fail(e.pos, ex.what());
    }
  }

 private:
  Value get_attr(const Value& obj, const std::string& name) {
    // Python getattr first (dict.items is the method), then the item, as Jinja2 does.
    if (auto m = bound_method(obj, name)) return *m;
    if (obj.is_object()) return obj.obj().get(name);
    return Value();
  }

  Value get_item(const Value& obj, const Value& key) {
    if (obj.is_object()) {
      if (key.is_string()) {
        const Value* v = obj.obj().find(key.str());
        if (v) return *v;
        return Value();
      }
      return obj.obj().get(key.to_str());
    }
    if (obj.is_array() && key.is_number() && !key.is_float()) {
      int64_t idx = key.as_int();
      if (!normalize_index(idx, obj.array().size())) return Value();
      return obj.array()[static_cast<size_t>(idx)];
    }
    if (obj.is_string() && key.is_number() && !key.is_float()) {
      auto chars = utf8_chars(obj.str());
      int64_t idx = key.as_int();
      if (!normalize_index(idx, chars.size())) return Value();
      return Value(chars[static_cast<size_t>(idx)]);
    }
    if (key.is_string()) return get_attr(obj, key.str());
    return Value();
  }

  Value eval_inner(const Expr& e, const ScopePtr& scope) {
    switch (e.kind) {
      case Expr::Kind::Literal: return e.value;
      case Expr::Kind::Name: {
        if (const Value* v = scope->lookup(e.name)) return *v;
        return global_function(e.name);
      }
      case Expr::Kind::Attribute: return get_attr(eval(*e.args[0], scope), e.name);
      case Expr::Kind::Subscript: return get_item(eval(*e.args[0], scope), eval(*e.args[1], scope));
      case Expr::Kind::Slice: {
        Value obj = eval(*e.args[0], scope);
        Value parts[3];
        for (int i = 0; i < 3; ++i)
          if (e.args[static_cast<size_t>(i) + 1]) parts[i] = eval(*e.args[static_cast<size_t>(i) + 1], scope);
        if (obj.is_array()) return Value(python_slice(obj.array(), parts[0], parts[1], parts[2]));
        if (obj.is_string()) {
          std::string s;
          for (auto& c : python_slice(utf8_chars(obj.str()), parts[0], parts[1], parts[2])) s += c;
          return Value(std::move(s));
        }
        if (obj.is_undefined() || obj.is_none()) return Value();
        throw std::runtime_error("'" + obj.type_name() + "' object is not subscriptable");
      }
      case Expr::Kind::Call: {
        Value callee = eval(*e.args[0], scope);
        CallArgs args = eval_args(e, scope, 1);
        if (!callee.is_callable()) {
          std::string what = e.args[0]->kind == Expr::Kind::Name        ? "'" + e.args[0]->name + "'"
                             : e.args[0]->kind == Expr::Kind::Attribute ? "'" + e.args[0]->name + "'"
                                                                        : "value";
          throw std::runtime_error(what + " is not callable (" + callee.type_name() + ")");
        }
        return callee.call(args);
      }
      case Expr::Kind::Filter: {
        Value subject = eval(*e.args[0], scope);
        CallArgs args = eval_args(e, scope, 1);
        return apply_filter(e.name, subject, args);
      }
      case Expr::Kind::Test: {
        Value subject = eval(*e.args[0], scope);
        CallArgs args = eval_args(e, scope, 1);
        bool r = apply_test(e.name, subject, args);
        return Value(e.negated ? !r : r);
      }
      case Expr::Kind::Unary: {
        Value v = eval(*e.args[0], scope);
        if (e.name == "not") return Value(!v.truthy());
        if (!v.is_number()) throw std::runtime_error("bad operand type for unary " + e.name + ": '" + v.type_name() + "'");
        if (e.name == "-") return v.is_float() ? Value(-v.as_double()) : Value(-v.as_int());
        return v.is_float() ? v : Value(v.as_int());
      }
      case Expr::Kind::Binary: {
        const std::string& op = e.name;
        if (op == "and") {
          Value l = eval(*e.args[0], scope);
          return l.truthy() ? eval(*e.args[1], scope) : l;
        }
        if (op == "or") {
          Value l = eval(*e.args[0], scope);
          return l.truthy() ? l : eval(*e.args[1], scope);
        }
        Value l = eval(*e.args[0], scope);
        Value r = eval(*e.args[1], scope);
        if (op == "~") return Value(l.to_str() + r.to_str());
        if (op == "==") return Value(l.equals(r));
        if (op == "!=") return Value(!l.equals(r));
        if (op == "<") return Value(l.less(r));
        if (op == ">") return Value(r.less(l));
        if (op == "<=") return Value(!r.less(l));
        if (op == ">=") return Value(!l.less(r));
        if (op == "in") return Value(contains(r, l));
        if (op == "not in") return Value(!contains(r, l));
        return arith(op, l, r);
      }
      case Expr::Kind::Ternary: {
        if (eval(*e.args[0], scope).truthy()) return eval(*e.args[1], scope);
        return e.args[2] ? eval(*e.args[2], scope) : Value();
      }
      case Expr::Kind::List:
      case Expr::Kind::Tuple: {
        Array a;
        for (const auto& x : e.args) a.push_back(eval(*x, scope));
        return e.kind == Expr::Kind::Tuple ? Value::tuple(std::move(a)) : Value(std::move(a));
      }
      case Expr::Kind::Dict: {
        auto o = std::make_shared<Object>();
        for (size_t i = 0; i + 1 < e.args.size(); i += 2) {
          Value k = eval(*e.args[i], scope);
          o->set_typed(k, eval(*e.args[i + 1], scope));
        }
        return Value(o);
      }
    }
    return Value();
  }
};

}  // namespace

std::string render_template(const ParsedTemplate& tmpl, const Object& variables) {
  auto root = std::make_shared<Scope>(nullptr);
  for (const auto& [k, v] : variables.items) root->vars[k] = v;
  Renderer r(root);
  std::string out;
  r.exec_body(tmpl.body, root, out);
  return out;
}

}  // namespace toolgate::engine::jinja
