#include "engine/chat_template/value.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <stdexcept>

namespace toolgate::engine::jinja {

Value Value::function(std::string name, Function f) {
  Value v;
  v.kind_ = Kind::Callable;
  v.f_ = std::make_shared<Callable>(Callable{std::move(name), std::move(f)});
  return v;
}

Value Value::object() { return Value(std::make_shared<Object>()); }

template <typename Json>
Value Value::from_json(const Json& j) {
  switch (j.type()) {
    case nlohmann::detail::value_t::null: return none();
    case nlohmann::detail::value_t::boolean: return Value(j.template get<bool>());
    case nlohmann::detail::value_t::number_integer: return Value(j.template get<int64_t>());
    case nlohmann::detail::value_t::number_unsigned: return Value(static_cast<int64_t>(j.template get<uint64_t>()));
    case nlohmann::detail::value_t::number_float: return Value(j.template get<double>());
    case nlohmann::detail::value_t::string: return Value(j.template get<std::string>());
    case nlohmann::detail::value_t::array: {
      Array a;
      a.reserve(j.size());
      for (const auto& e : j) a.push_back(from_json(e));
      return Value(std::move(a));
    }
    case nlohmann::detail::value_t::object: {
      auto o = std::make_shared<Object>();
      for (auto it = j.begin(); it != j.end(); ++it) o->items.emplace_back(it.key(), from_json(it.value()));
      return Value(o);
    }
    default: return Value();
  }
}
template Value Value::from_json<nlohmann::json>(const nlohmann::json&);
template Value Value::from_json<nlohmann::ordered_json>(const nlohmann::ordered_json&);

const std::string& Value::callable_name() const { return f_->name; }

Value Value::call(CallArgs& args) const {
  if (kind_ != Kind::Callable) throw std::runtime_error("'" + type_name() + "' object is not callable");
  return f_->fn(args);
}

bool Value::truthy() const {
  switch (kind_) {
    case Kind::Undefined:
    case Kind::None: return false;
    case Kind::Bool:
    case Kind::Int: return i_ != 0;
    case Kind::Float: return d_ != 0.0;
    case Kind::String: return !s_->empty();
    case Kind::Array: return !a_->empty();
    case Kind::Object: return !o_->items.empty();
    case Kind::Callable: return true;
  }
  return false;
}

std::string format_python_float(double d) {
  if (std::isnan(d)) return "nan";
  if (std::isinf(d)) return d > 0 ? "inf" : "-inf";
  if (d == 0) return std::signbit(d) ? "-0.0" : "0.0";
  // Shortest round-trip digits in scientific form, then laid out as Python's repr does:
  // positional for decimal exponents in [-4, 16), scientific otherwise.
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
  std::string sci(buf, res.ptr);
  bool neg = sci[0] == '-';
  if (neg) sci.erase(0, 1);
  size_t epos = sci.find('e');
  int exp = std::stoi(sci.substr(epos + 1));
  std::string digits;
  for (size_t i = 0; i < epos; ++i)
    if (sci[i] != '.') digits += sci[i];
  std::string out;
  if (exp >= -4 && exp < 16) {
    if (exp >= 0) {
      if (static_cast<int>(digits.size()) <= exp + 1) {
        out = digits + std::string(exp + 1 - digits.size(), '0') + ".0";
      } else {
        out = digits.substr(0, exp + 1) + "." + digits.substr(exp + 1);
      }
    } else {
      out = "0.";
      out.append(static_cast<size_t>(-exp - 1), '0');
      out += digits;
    }
  } else {
    out = digits.substr(0, 1);
    if (digits.size() > 1) {
      out += '.';
      out += digits.substr(1);
    }
    char e[16];
    std::snprintf(e, sizeof e, "e%c%02d", exp < 0 ? '-' : '+', std::abs(exp));
    out += e;
  }
  return neg ? "-" + out : out;
}

std::string Value::to_str() const {
  switch (kind_) {
    case Kind::Undefined: return "";
    case Kind::None: return "None";
    case Kind::Bool: return i_ ? "True" : "False";
    case Kind::Int: return std::to_string(i_);
    case Kind::Float: return format_python_float(d_);
    case Kind::String: return *s_;
    default: return repr();
  }
}

static std::string python_repr_string(const std::string& s) {
  bool has_single = s.find('\'') != std::string::npos;
  bool has_double = s.find('"') != std::string::npos;
  char q = (has_single && !has_double) ? '"' : '\'';
  std::string out(1, q);
  for (unsigned char c : s) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c == static_cast<unsigned char>(q)) {
          out += '\\';
          out += static_cast<char>(c);
        } else if (c < 0x20 || c == 0x7f) {
          char b[8];
          std::snprintf(b, sizeof b, "\\x%02x", c);
          out += b;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += q;
  return out;
}

std::string Value::repr() const {
  switch (kind_) {
    case Kind::String: return python_repr_string(*s_);
    case Kind::Array: {
      std::string out = safe_ ? "(" : "[";
      for (size_t i = 0; i < a_->size(); ++i) {
        if (i) out += ", ";
        out += (*a_)[i].repr();
      }
      if (safe_ && a_->size() == 1) out += ",";
      return out + (safe_ ? ")" : "]");
    }
    case Kind::Object: {
      std::string out = "{";
      for (size_t i = 0; i < o_->items.size(); ++i) {
        if (i) out += ", ";
        out += o_->key_at(i).repr() + ": " + o_->items[i].second.repr();
      }
      return out + "}";
    }
    case Kind::Callable: return "<function " + f_->name + ">";
    default: return to_str();
  }
}

static void dump_json_string(std::string& out, const std::string& s) {
  out += '"';
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        if (c < 0x20) {
          char b[8];
          std::snprintf(b, sizeof b, "\\u%04x", c);
          out += b;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
}

void Value::dump_json(std::string& out, int indent, int depth, bool sort_keys) const {
  auto newline = [&](int d) {
    out += '\n';
    out.append(static_cast<size_t>(indent * d), ' ');
  };
  switch (kind_) {
    case Kind::Undefined:
    case Kind::None: out += "null"; return;
    case Kind::Bool: out += i_ ? "true" : "false"; return;
    case Kind::Int: out += std::to_string(i_); return;
    case Kind::Float:
      if (std::isnan(d_)) out += "NaN";
      else if (std::isinf(d_)) out += d_ > 0 ? "Infinity" : "-Infinity";
      else out += format_python_float(d_);
      return;
    case Kind::String: dump_json_string(out, *s_); return;
    case Kind::Array: {
      if (a_->empty()) { out += "[]"; return; }
      out += '[';
      for (size_t i = 0; i < a_->size(); ++i) {
        if (i) out += indent >= 0 ? "," : ", ";
        if (indent >= 0) newline(depth + 1);
        (*a_)[i].dump_json(out, indent, depth + 1, sort_keys);
      }
      if (indent >= 0) newline(depth);
      out += ']';
      return;
    }
    case Kind::Object: {
      if (o_->items.empty()) { out += "{}"; return; }
      std::vector<const std::pair<std::string, Value>*> items;
      for (const auto& kv : o_->items) items.push_back(&kv);
      if (sort_keys)
        std::stable_sort(items.begin(), items.end(), [](auto* a, auto* b) { return a->first < b->first; });
      out += '{';
      bool first = true;
      for (const auto* kv : items) {
        if (!first) out += indent >= 0 ? "," : ", ";
        first = false;
        if (indent >= 0) newline(depth + 1);
        dump_json_string(out, kv->first);
        out += ": ";
        kv->second.dump_json(out, indent, depth + 1, sort_keys);
      }
      if (indent >= 0) newline(depth);
      out += '}';
      return;
    }
    case Kind::Callable: throw std::runtime_error("Object of type function is not JSON serializable");
  }
}

std::string Value::to_json_text(int indent, bool sort_keys) const {
  std::string out;
  dump_json(out, indent, 0, sort_keys);
  return out;
}

nlohmann::json Value::to_json() const {
  switch (kind_) {
    case Kind::Undefined:
    case Kind::None: return nullptr;
    case Kind::Bool: return i_ != 0;
    case Kind::Int: return i_;
    case Kind::Float: return d_;
    case Kind::String: return *s_;
    case Kind::Array: {
      auto j = nlohmann::json::array();
      for (const auto& e : *a_) j.push_back(e.to_json());
      return j;
    }
    case Kind::Object: {
      auto j = nlohmann::json::object();
      for (const auto& [k, v] : o_->items) j[k] = v.to_json();
      return j;
    }
    case Kind::Callable: return nullptr;
  }
  return nullptr;
}

std::string Value::type_name() const {
  switch (kind_) {
    case Kind::Undefined: return "Undefined";
    case Kind::None: return "NoneType";
    case Kind::Bool: return "bool";
    case Kind::Int: return "int";
    case Kind::Float: return "float";
    case Kind::String: return "str";
    case Kind::Array: return "list";
    case Kind::Object: return "dict";
    case Kind::Callable: return "function";
  }
  return "?";
}

bool Value::equals(const Value& o) const {
  if (is_number() && o.is_number()) {
    if (kind_ == Kind::Float || o.kind_ == Kind::Float) return as_double() == o.as_double();
    return i_ == o.i_;
  }
  if (kind_ != o.kind_) return false;
  switch (kind_) {
    case Kind::Undefined:
    case Kind::None: return true;
    case Kind::String: return *s_ == *o.s_;
    case Kind::Array: {
      if (a_->size() != o.a_->size()) return false;
      for (size_t i = 0; i < a_->size(); ++i)
        if (!(*a_)[i].equals((*o.a_)[i])) return false;
      return true;
    }
    case Kind::Object: {
      if (o_->items.size() != o.o_->items.size()) return false;
      for (const auto& [k, v] : o_->items) {
        const Value* ov = o.o_->find(k);
        if (!ov || !v.equals(*ov)) return false;
      }
      return true;
    }
    case Kind::Callable: return f_ == o.f_;
    default: return false;
  }
}

bool Value::less(const Value& o) const {
  if (is_number() && o.is_number()) {
    if (kind_ == Kind::Float || o.kind_ == Kind::Float) return as_double() < o.as_double();
    return i_ < o.i_;
  }
  if (is_string() && o.is_string()) return *s_ < *o.s_;
  if (is_array() && o.is_array()) {
    size_t n = std::min(a_->size(), o.a_->size());
    for (size_t i = 0; i < n; ++i) {
      if ((*a_)[i].less((*o.a_)[i])) return true;
      if ((*o.a_)[i].less((*a_)[i])) return false;
    }
    return a_->size() < o.a_->size();
  }
  throw std::runtime_error("'<' not supported between instances of '" + type_name() + "' and '" + o.type_name() +
                           "'");
}

const Value* Object::find(const std::string& key) const {
  for (const auto& kv : items)
    if (kv.first == key) return &kv.second;
  return nullptr;
}

Value Object::get(const std::string& key) const {
  const Value* v = find(key);
  return v ? *v : Value();
}

void Object::set(const std::string& key, Value v) { set_typed(Value(key), std::move(v)); }

void Object::set_typed(const Value& key, Value v) {
  std::string k = key.to_str();
  for (auto& kv : items)
    if (kv.first == k) {
      kv.second = std::move(v);
      return;
    }
  bool typed = !typed_keys.empty();
  if (!key.is_string() && !typed) {
    for (const auto& kv : items) typed_keys.emplace_back(kv.first);
    typed = true;
  }
  items.emplace_back(k, std::move(v));
  if (typed) typed_keys.push_back(key);
}

bool Object::erase(const std::string& key) {
  for (size_t i = 0; i < items.size(); ++i)
    if (items[i].first == key) {
      items.erase(items.begin() + static_cast<long>(i));
      if (!typed_keys.empty()) typed_keys.erase(typed_keys.begin() + static_cast<long>(i));
      return true;
    }
  return false;
}

Value CallArgs::get(size_t i, const char* name) const {
  if (name)
    for (const auto& [k, v] : named)
      if (k == name) return v;
  if (i < positional.size()) return positional[i];
  return Value();
}

size_t utf8_length(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s)
    if ((c & 0xC0) != 0x80) ++n;
  return n;
}

std::vector<std::string> utf8_chars(const std::string& s) {
  std::vector<std::string> out;
  for (size_t i = 0; i < s.size();) {
    size_t j = i + 1;
    while (j < s.size() && (static_cast<unsigned char>(s[j]) & 0xC0) == 0x80) ++j;
    out.push_back(s.substr(i, j - i));
    i = j;
  }
  return out;
}

}  // namespace toolgate::engine::jinja
