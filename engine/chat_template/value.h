#pragma once
// The runtime value of the Jinja interpreter. Mirrors the Python objects a Jinja2 template
// sees: Undefined, None, bool, int, float, str, list, dict, and callables (macros, bound
// methods, globals). Lists and dicts are shared by reference like Python objects, which is
// what makes `namespace()` attributes and `list.append` visible across scopes.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace toolgate::engine::jinja {

class Value;
using Array = std::vector<Value>;
struct Object;
struct CallArgs;
using Function = std::function<Value(CallArgs&)>;

class Value {
 public:
  enum class Kind { Undefined, None, Bool, Int, Float, String, Array, Object, Callable };

  Value() = default;  // Undefined
  static Value none() { Value v; v.kind_ = Kind::None; return v; }
  Value(bool b) : kind_(Kind::Bool), i_(b) {}
  Value(int i) : kind_(Kind::Int), i_(i) {}
  Value(int64_t i) : kind_(Kind::Int), i_(i) {}
  Value(double d) : kind_(Kind::Float), d_(d) {}
  Value(std::string s) : kind_(Kind::String), s_(std::make_shared<std::string>(std::move(s))) {}
  Value(const char* s) : Value(std::string(s)) {}
  Value(Array a) : kind_(Kind::Array), a_(std::make_shared<Array>(std::move(a))) {}
  Value(std::shared_ptr<Object> o) : kind_(Kind::Object), o_(std::move(o)) {}
  // A Jinja2 Markup string (from `|safe`): adding a plain string to it HTML-escapes the
  // plain one, a Python quirk some templates (functionary) rely on.
  static Value markup(std::string s) {
    Value v(std::move(s));
    v.safe_ = true;
    return v;
  }
  // A Python tuple: a list that prints as (a, b) (dict items, tuple literals).
  static Value tuple(Array a) {
    Value v(std::move(a));
    v.safe_ = true;
    return v;
  }
  bool is_markup() const { return kind_ == Kind::String && safe_; }
  static Value function(std::string name, Function f);
  static Value object();
  // Works for nlohmann::json (keys sorted) and nlohmann::ordered_json (keys in document
  // order, which is what Python's json.loads gives HF templates).
  template <typename Json>
  static Value from_json(const Json& j);

  Kind kind() const { return kind_; }
  bool is_undefined() const { return kind_ == Kind::Undefined; }
  bool is_none() const { return kind_ == Kind::None; }
  bool is_bool() const { return kind_ == Kind::Bool; }
  bool is_int() const { return kind_ == Kind::Int; }
  bool is_float() const { return kind_ == Kind::Float; }
  bool is_number() const { return kind_ == Kind::Int || kind_ == Kind::Float || kind_ == Kind::Bool; }
  bool is_string() const { return kind_ == Kind::String; }
  bool is_array() const { return kind_ == Kind::Array; }
  bool is_object() const { return kind_ == Kind::Object; }
  bool is_callable() const { return kind_ == Kind::Callable; }

  bool as_bool() const { return i_ != 0; }
  int64_t as_int() const { return kind_ == Kind::Float ? static_cast<int64_t>(d_) : i_; }
  double as_double() const { return kind_ == Kind::Float ? d_ : static_cast<double>(i_); }
  const std::string& str() const { return *s_; }
  Array& array() const { return *a_; }
  Object& obj() const { return *o_; }
  const std::shared_ptr<Object>& obj_ptr() const { return o_; }
  const std::string& callable_name() const;
  Value call(CallArgs& args) const;

  bool truthy() const;
  // Python str(): what `{{ value }}` prints. Undefined prints as "".
  std::string to_str() const;
  // Python repr(), used for list/dict elements inside str().
  std::string repr() const;
  // Python json.dumps(value, ensure_ascii=False, indent=indent, sort_keys=sort_keys) with the
  // default separators HF's tojson uses: ", " and ": " (or "," and ": " when indented).
  std::string to_json_text(int indent = -1, bool sort_keys = false) const;
  nlohmann::json to_json() const;
  std::string type_name() const;

  // Python == semantics (1 == 1.0, deep list/dict comparison).
  bool equals(const Value& other) const;
  // Python < semantics for numbers, strings and lists; throws std::runtime_error otherwise.
  bool less(const Value& other) const;

 private:
  struct Callable {
    std::string name;
    Function fn;
  };
  Kind kind_ = Kind::Undefined;
  bool safe_ = false;  // String: Markup. Array: tuple.
  int64_t i_ = 0;
  double d_ = 0;
  std::shared_ptr<std::string> s_;
  std::shared_ptr<Array> a_;
  std::shared_ptr<Object> o_;
  std::shared_ptr<Callable> f_;
  void dump_json(std::string& out, int indent, int depth, bool sort_keys) const;
};

// An insertion-ordered dict with string keys (Python dicts keep insertion order).
struct Object {
  std::vector<std::pair<std::string, Value>> items;
  // Python dicts may have non-string keys ({4096: 512}). Lookup always goes through the key's
  // str(); when any key is not a string, typed_keys (parallel to items) keeps the originals
  // so iteration, dictsort and comparisons see ints as ints.
  std::vector<Value> typed_keys;
  const Value* find(const std::string& key) const;
  Value get(const std::string& key) const;  // Undefined when absent
  void set(const std::string& key, Value v);
  void set_typed(const Value& key, Value v);
  Value key_at(size_t i) const { return typed_keys.empty() ? Value(items[i].first) : typed_keys[i]; }
  bool erase(const std::string& key);
};

struct CallArgs {
  std::vector<Value> positional;
  std::vector<std::pair<std::string, Value>> named;
  // Positional argument i, or the keyword `name`, or Undefined.
  Value get(size_t i, const char* name) const;
  bool has(size_t i, const char* name) const { return !get(i, name).is_undefined(); }
};

// Python float repr (shortest round-trip, "1.0", "1e+16").
std::string format_python_float(double d);
// Number of Unicode code points in UTF-8 text.
size_t utf8_length(const std::string& s);
// Splits UTF-8 text into code points (each as its bytes).
std::vector<std::string> utf8_chars(const std::string& s);

}  // namespace toolgate::engine::jinja
