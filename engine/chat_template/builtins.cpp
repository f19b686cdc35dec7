#include "engine/chat_template/builtins.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <stdexcept>

#include "engine/chat_template.h"

namespace toolgate::engine::jinja {
namespace {

[[noreturn]] void type_error(const std::string& what, const Value& v) {
  throw std::runtime_error(what + " (got " + v.type_name() + ")");
}

bool is_py_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

std::string strip_chars(const std::string& s, const Value& chars, bool left, bool right) {
  auto strip_it = [&](char c) {
    if (chars.is_undefined() || chars.is_none()) return is_py_space(c);
    return chars.str().find(c) != std::string::npos;
  };
  size_t b = 0, e = s.size();
  if (left)
    while (b < e && strip_it(s[b])) ++b;
  if (right)
    while (e > b && strip_it(s[e - 1])) --e;
  return s.substr(b, e - b);
}

std::string to_lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}
std::string to_upper(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}
std::string capitalize(const std::string& s) {
  std::string out = to_lower(s);
  if (!out.empty()) out[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(out[0])));
  return out;
}
std::string title(const std::string& s) {
  std::string out = s;
  bool prev_letter = false;
  for (auto& c : out) {
    unsigned char u = static_cast<unsigned char>(c);
    if (std::isalpha(u)) {
      c = static_cast<char>(prev_letter ? std::tolower(u) : std::toupper(u));
      prev_letter = true;
    } else {
      prev_letter = u >= 0x80;  // treat non-ASCII bytes as letters so words are not split
    }
  }
  return out;
}

Array split(const std::string& s, const Value& sep, int64_t maxsplit) {
  Array out;
  if (sep.is_undefined() || sep.is_none()) {
    size_t i = 0;
    while (i < s.size()) {
      while (i < s.size() && is_py_space(s[i])) ++i;
      if (i >= s.size()) break;
      if (maxsplit >= 0 && static_cast<int64_t>(out.size()) == maxsplit) {
        out.emplace_back(strip_chars(s.substr(i), Value(), false, true));
        return out;
      }
      size_t j = i;
      while (j < s.size() && !is_py_space(s[j])) ++j;
      out.emplace_back(s.substr(i, j - i));
      i = j;
    }
    return out;
  }
  const std::string& d = sep.str();
  if (d.empty()) throw std::runtime_error("empty separator");
  size_t start = 0;
  while (true) {
    if (maxsplit >= 0 && static_cast<int64_t>(out.size()) == maxsplit) break;
    size_t p = s.find(d, start);
    if (p == std::string::npos) break;
    out.emplace_back(s.substr(start, p - start));
    start = p + d.size();
  }
  out.emplace_back(s.substr(start));
  return out;
}

Array rsplit(const std::string& s, const Value& sep, int64_t maxsplit) {
  if (maxsplit < 0 || sep.is_undefined() || sep.is_none()) return split(s, sep, maxsplit);
  const std::string& d = sep.str();
  if (d.empty()) throw std::runtime_error("empty separator");
  Array rev;
  size_t end = s.size();
  while (static_cast<int64_t>(rev.size()) < maxsplit) {
    if (end < d.size()) break;
    size_t p = s.rfind(d, end - d.size());
    if (p == std::string::npos) break;
    rev.emplace_back(s.substr(p + d.size(), end - p - d.size()));
    end = p;
  }
  rev.emplace_back(s.substr(0, end));
  std::reverse(rev.begin(), rev.end());
  return rev;
}

std::string replace_all(const std::string& s, const std::string& from, const std::string& to, int64_t count) {
  std::string out;
  if (from.empty()) {
    // Python inserts `to` between every character (and at both ends).
    auto chars = utf8_chars(s);
    int64_t done = 0;
    for (auto& c : chars) {
      if (count < 0 || done < count) {
        out += to;
        ++done;
      }
      out += c;
    }
    if (count < 0 || done < count) out += to;
    return out;
  }
  size_t start = 0;
  int64_t done = 0;
  while (count < 0 || done < count) {
    size_t p = s.find(from, start);
    if (p == std::string::npos) break;
    out.append(s, start, p - start);
    out += to;
    start = p + from.size();
    ++done;
  }
  out.append(s, start, std::string::npos);
  return out;
}

bool starts_or_ends(const std::string& s, const Value& arg, bool starts) {
  auto check = [&](const std::string& p) {
    if (p.size() > s.size()) return false;
    return starts ? s.compare(0, p.size(), p) == 0 : s.compare(s.size() - p.size(), p.size(), p) == 0;
  };
  if (arg.is_array()) {
    for (const auto& a : arg.array())
      if (a.is_string() && check(a.str())) return true;
    return false;
  }
  if (!arg.is_string()) type_error("startswith/endswith expects a string", arg);
  return check(arg.str());
}

// str.format: {} {0} {name} and {{ }}; format specs other than empty are not supported.
std::string python_format(const std::string& fmt, const CallArgs& args) {
  std::string out;
  size_t auto_idx = 0;
  for (size_t i = 0; i < fmt.size(); ++i) {
    char c = fmt[i];
    if (c == '{' && i + 1 < fmt.size() && fmt[i + 1] == '{') {
      out += '{';
      ++i;
    } else if (c == '}' && i + 1 < fmt.size() && fmt[i + 1] == '}') {
      out += '}';
      ++i;
    } else if (c == '{') {
      size_t close = fmt.find('}', i);
      if (close == std::string::npos) throw std::runtime_error("Single '{' encountered in format string");
      std::string field = fmt.substr(i + 1, close - i - 1);
      size_t colon = field.find(':');
      if (colon != std::string::npos) field = field.substr(0, colon);
      Value v;
      if (field.empty()) {
        v = args.get(auto_idx++, nullptr);
      } else if (std::isdigit(static_cast<unsigned char>(field[0]))) {
        v = args.get(static_cast<size_t>(std::stoul(field)), nullptr);
      } else {
        v = args.get(SIZE_MAX, field.c_str());
      }
      out += v.to_str();
      i = close;
    } else {
      out += c;
    }
  }
  return out;
}

// printf-style `"%s" | format(x)` / `"%s" % x`: %s %d %i %r %f %%.
std::string percent_format(const std::string& fmt, const Array& values) {
  std::string out;
  size_t k = 0;
  for (size_t i = 0; i < fmt.size(); ++i) {
    if (fmt[i] != '%' || i + 1 >= fmt.size()) {
      out += fmt[i];
      continue;
    }
    char t = fmt[++i];
    if (t == '%') {
      out += '%';
      continue;
    }
    if (k >= values.size()) throw std::runtime_error("not enough arguments for format string");
    const Value& v = values[k++];
    if (t == 's') out += v.to_str();
    else if (t == 'r') out += v.repr();
    else if (t == 'd' || t == 'i') out += std::to_string(v.as_int());
    else if (t == 'f') {
      char b[64];
      std::snprintf(b, sizeof b, "%f", v.as_double());
      out += b;
    } else throw std::runtime_error(std::string("unsupported format character '") + t + "'");
  }
  return out;
}

Value attribute_path(const Value& v, const std::string& path) {
  Value cur = v;
  size_t start = 0;
  while (true) {
    size_t dot = path.find('.', start);
    std::string part = path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (cur.is_object()) {
      cur = cur.obj().get(part);
    } else if (cur.is_array() && !part.empty() && std::isdigit(static_cast<unsigned char>(part[0]))) {
      size_t idx = std::stoul(part);
      cur = idx < cur.array().size() ? cur.array()[idx] : Value();
    } else {
      return Value();
    }
    if (dot == std::string::npos) return cur;
    start = dot + 1;
  }
}

Array to_list(const Value& v) {
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
  type_error("value is not iterable", v);
}

Value items_of(const Value& v) {
  Array out;
  if (v.is_object())
    for (size_t i = 0; i < v.obj().items.size(); ++i) out.push_back(Value::tuple(Array{v.obj().key_at(i), v.obj().items[i].second}));
  else if (!v.is_undefined() && !v.is_none())
    type_error("items() expects a mapping", v);
  return Value(std::move(out));
}

CallArgs shift_args(const CallArgs& args, size_t n) {
  CallArgs out;
  for (size_t i = n; i < args.positional.size(); ++i) out.positional.push_back(args.positional[i]);
  out.named = args.named;
  return out;
}

Value sort_key(const Value& v, bool case_sensitive) {
  if (!case_sensitive && v.is_string()) return Value(to_lower(v.str()));
  return v;
}

}  // namespace

std::string html_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&#34;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

namespace {

// json.dumps(ensure_ascii=True) escapes every non-ASCII code point as \uXXXX.
std::string ascii_escape_json(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      out += s[i++];
      continue;
    }
    int len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
    uint32_t cp = c & (len == 4 ? 0x07 : len == 3 ? 0x0F : 0x1F);
    for (int k = 1; k < len && i + static_cast<size_t>(k) < s.size(); ++k)
      cp = (cp << 6) | (static_cast<unsigned char>(s[i + static_cast<size_t>(k)]) & 0x3F);
    i += static_cast<size_t>(len);
    char b[16];
    if (cp >= 0x10000) {
      cp -= 0x10000;
      std::snprintf(b, sizeof b, "\\u%04x\\u%04x", 0xD800 + (cp >> 10), 0xDC00 + (cp & 0x3FF));
    } else {
      std::snprintf(b, sizeof b, "\\u%04x", cp);
    }
    out += b;
  }
  return out;
}

Value tojson(const Value& v, const CallArgs& args) {
  Value indent = args.get(SIZE_MAX, "indent");
  if (indent.is_undefined()) indent = args.get(0, nullptr);
  int ind = indent.is_number() ? static_cast<int>(indent.as_int()) : -1;
  std::string out = v.to_json_text(ind, args.get(SIZE_MAX, "sort_keys").truthy());
  Value ensure_ascii = args.get(SIZE_MAX, "ensure_ascii");
  if (ensure_ascii.truthy()) out = ascii_escape_json(out);
  Value separators = args.get(SIZE_MAX, "separators");
  if (separators.is_array() && separators.array().size() == 2) {
    // Re-serialise with custom separators: only the common compact form is supported.
    if (separators.array()[0].to_str() == "," && separators.array()[1].to_str() == ":") {
      nlohmann::json j = nlohmann::json::parse(out);
      out = j.dump(-1, ' ', false);
    }
  }
  return Value(std::move(out));
}

Value round_value(const Value& v, const CallArgs& args) {
  int64_t precision = args.has(0, "precision") ? args.get(0, "precision").as_int() : 0;
  std::string method = args.has(1, "method") ? args.get(1, "method").to_str() : "common";
  double x = v.as_double();
  double scale = std::pow(10.0, static_cast<double>(precision));
  double r;
  if (method == "ceil") r = std::ceil(x * scale) / scale;
  else if (method == "floor") r = std::floor(x * scale) / scale;
  else r = std::nearbyint(x * scale) / scale;  // Python's round(): half to even
  return Value(r);
}

Value to_int(const Value& v, const CallArgs& args) {
  Value dflt = args.has(0, "default") ? args.get(0, "default") : Value(0);
  if (v.is_bool() || v.is_int()) return Value(v.as_int());
  if (v.is_float()) return Value(static_cast<int64_t>(v.as_double()));
  if (v.is_string()) {
    std::string s = strip_chars(v.str(), Value(), true, true);
    int base = args.has(1, "base") ? static_cast<int>(args.get(1, "base").as_int()) : 10;
    try {
      size_t used = 0;
      long long n = std::stoll(s, &used, base);
      if (used == s.size()) return Value(static_cast<int64_t>(n));
    } catch (const std::exception&) {
    }
    try {
      size_t used = 0;
      double d = std::stod(s, &used);
      if (used == s.size()) return Value(static_cast<int64_t>(d));
    } catch (const std::exception&) {
    }
  }
  return dflt;
}

Value to_float(const Value& v, const CallArgs& args) {
  Value dflt = args.has(0, "default") ? args.get(0, "default") : Value(0.0);
  if (v.is_number()) return Value(v.as_double());
  if (v.is_string()) {
    try {
      size_t used = 0;
      std::string s = strip_chars(v.str(), Value(), true, true);
      double d = std::stod(s, &used);
      if (used == s.size()) return Value(d);
    } catch (const std::exception&) {
    }
  }
  return dflt;
}

Value indent(const Value& v, const CallArgs& args) {
  Value width = args.has(0, "width") ? args.get(0, "width") : Value(4);
  bool first = args.get(1, "first").truthy();
  bool blank = args.get(2, "blank").truthy();
  std::string ind = width.is_string() ? width.str() : std::string(static_cast<size_t>(width.as_int()), ' ');
  // Jinja2 appends "\n" and then uses str.splitlines(), so a trailing newline survives.
  std::string s = v.to_str() + "\n";
  std::vector<std::string> lines;
  size_t start = 0;
  for (size_t i = 0; i < s.size(); ++i)
    if (s[i] == '\n') {
      lines.push_back(s.substr(start, i - start));
      start = i + 1;
    }
  std::string rv;
  if (blank) {
    for (size_t i = 0; i < lines.size(); ++i) {
      if (i) {
        rv += '\n';
        rv += ind;
      }
      rv += lines[i];
    }
  } else {
    rv = lines.empty() ? "" : lines[0];
    for (size_t i = 1; i < lines.size(); ++i) {
      rv += '\n';
      if (!lines[i].empty()) rv += ind;
      rv += lines[i];
    }
  }
  if (first) rv = ind + rv;
  return Value(std::move(rv));
}

Value minmax(const Value& v, const CallArgs& args, bool want_max) {
  Array items = to_list(v);
  if (items.empty()) return Value();
  bool cs = args.get(SIZE_MAX, "case_sensitive").truthy();
  Value attr = args.get(SIZE_MAX, "attribute");
  auto key = [&](const Value& x) { return sort_key(attr.is_string() ? attribute_path(x, attr.str()) : x, cs); };
  size_t best = 0;
  for (size_t i = 1; i < items.size(); ++i) {
    bool better = want_max ? key(items[best]).less(key(items[i])) : key(items[i]).less(key(items[best]));
    if (better) best = i;
  }
  return items[best];
}

Value select_like(const Value& v, const CallArgs& args, bool by_attr, bool keep) {
  Array out;
  size_t first_test_arg = by_attr ? 1 : 0;
  std::string attr = by_attr ? args.get(0, nullptr).to_str() : "";
  Value test = args.get(first_test_arg, nullptr);
  CallArgs test_args = shift_args(args, first_test_arg + 1);
  for (const auto& item : to_list(v)) {
    Value subject = by_attr ? attribute_path(item, attr) : item;
    bool pass = test.is_undefined() ? subject.truthy() : apply_test(test.to_str(), subject, test_args);
    if (pass == keep) out.push_back(item);
  }
  return Value(std::move(out));
}

Value map_filter(const Value& v, const CallArgs& args) {
  Array out;
  Value attr = args.get(SIZE_MAX, "attribute");
  if (attr.is_string()) {
    Value dflt = args.get(SIZE_MAX, "default");
    for (const auto& item : to_list(v)) {
      Value x = attribute_path(item, attr.str());
      out.push_back(x.is_undefined() ? dflt : x);
    }
    return Value(std::move(out));
  }
  if (args.positional.empty()) throw std::runtime_error("map requires a filter name or attribute=");
  std::string filter = args.positional[0].to_str();
  CallArgs rest = shift_args(args, 1);
  for (const auto& item : to_list(v)) out.push_back(apply_filter(filter, item, rest));
  return Value(std::move(out));
}

Value sort_filter(const Value& v, const CallArgs& args) {
  Array items = to_list(v);
  bool reverse = args.get(0, "reverse").truthy();
  bool cs = args.get(1, "case_sensitive").truthy();
  Value attr = args.get(2, "attribute");
  auto key = [&](const Value& x) { return sort_key(attr.is_string() ? attribute_path(x, attr.str()) : x, cs); };
  std::stable_sort(items.begin(), items.end(), [&](const Value& a, const Value& b) {
    return reverse ? key(b).less(key(a)) : key(a).less(key(b));
  });
  return Value(std::move(items));
}

Value dictsort(const Value& v, const CallArgs& args) {
  if (!v.is_object()) type_error("dictsort expects a mapping", v);
  bool cs = args.get(0, "case_sensitive").truthy();
  bool by_value = args.get(1, "by").is_string() && args.get(1, "by").str() == "value";
  bool reverse = args.get(2, "reverse").truthy();
  Array items = items_of(v).array();
  std::stable_sort(items.begin(), items.end(), [&](const Value& a, const Value& b) {
    const Value& ka = a.array()[by_value ? 1 : 0];
    const Value& kb = b.array()[by_value ? 1 : 0];
    return reverse ? sort_key(kb, cs).less(sort_key(ka, cs)) : sort_key(ka, cs).less(sort_key(kb, cs));
  });
  return Value(std::move(items));
}

Value length_of(const Value& v) {
  if (v.is_string()) return Value(static_cast<int64_t>(utf8_length(v.str())));
  if (v.is_array()) return Value(static_cast<int64_t>(v.array().size()));
  if (v.is_object()) return Value(static_cast<int64_t>(v.obj().items.size()));
  if (v.is_undefined()) return Value(0);
  type_error("object has no len()", v);
}

}  // namespace

Value apply_filter(const std::string& name, const Value& v, CallArgs& args) {
  if (name == "tojson") return tojson(v, args);
  if (name == "trim") return Value(strip_chars(v.to_str(), args.get(0, "chars"), true, true));
  if (name == "length" || name == "count") return length_of(v);
  if (name == "upper") return Value(to_upper(v.to_str()));
  if (name == "lower") return Value(to_lower(v.to_str()));
  if (name == "capitalize") return Value(capitalize(v.to_str()));
  if (name == "title") return Value(title(v.to_str()));
  if (name == "default" || name == "d") {
    bool boolean = args.get(1, "boolean").truthy();
    Value dflt = args.has(0, "default_value") ? args.get(0, "default_value") : Value("");
    if (v.is_undefined() || (boolean && !v.truthy())) return dflt;
    return v;
  }
  if (name == "join") {
    std::string sep = args.has(0, "d") ? args.get(0, "d").to_str() : "";
    Value attr = args.get(1, "attribute");
    std::string out;
    bool first = true;
    for (const auto& item : to_list(v)) {
      if (!first) out += sep;
      first = false;
      out += (attr.is_string() ? attribute_path(item, attr.str()) : item).to_str();
    }
    return Value(std::move(out));
  }
  if (name == "first" || name == "last") {
    Array items = to_list(v);
    if (items.empty()) return Value();
    return name == "first" ? items.front() : items.back();
  }
  if (name == "items") return items_of(v);
  if (name == "list") return Value(to_list(v));
  if (name == "string") return Value(v.to_str());
  if (name == "int") return to_int(v, args);
  if (name == "float") return to_float(v, args);
  if (name == "abs") return v.is_float() ? Value(std::fabs(v.as_double())) : Value(static_cast<int64_t>(std::llabs(v.as_int())));
  if (name == "replace") {
    int64_t count = args.has(2, "count") ? args.get(2, "count").as_int() : -1;
    return Value(replace_all(v.to_str(), args.get(0, "old").to_str(), args.get(1, "new").to_str(), count));
  }
  if (name == "map") return map_filter(v, args);
  if (name == "select") return select_like(v, args, false, true);
  if (name == "reject") return select_like(v, args, false, false);
  if (name == "selectattr") return select_like(v, args, true, true);
  if (name == "rejectattr") return select_like(v, args, true, false);
  if (name == "indent") return indent(v, args);
  if (name == "safe") return Value::markup(v.to_str());
  if (name == "escape" || name == "e") return v.is_markup() ? v : Value::markup(html_escape(v.to_str()));
  if (name == "forceescape") return Value::markup(html_escape(v.to_str()));
  if (name == "round") return round_value(v, args);
  if (name == "unique") {
    Array out;
    for (const auto& item : to_list(v)) {
      bool seen = false;
      for (const auto& o : out)
        if (o.equals(item)) seen = true;
      if (!seen) out.push_back(item);
    }
    return Value(std::move(out));
  }
  if (name == "min") return minmax(v, args, false);
  if (name == "max") return minmax(v, args, true);
  if (name == "sum") {
    Value attr = args.get(SIZE_MAX, "attribute");
    Value total = args.has(1, "start") ? args.get(1, "start") : Value(0);
    for (const auto& item : to_list(v)) {
      Value x = attr.is_string() ? attribute_path(item, attr.str()) : item;
      total = x.is_float() || total.is_float() ? Value(total.as_double() + x.as_double())
                                               : Value(total.as_int() + x.as_int());
    }
    return total;
  }
  if (name == "sort") return sort_filter(v, args);
  if (name == "dictsort") return dictsort(v, args);
  if (name == "reverse") {
    if (v.is_string()) {
      auto chars = utf8_chars(v.str());
      std::string out;
      for (auto it = chars.rbegin(); it != chars.rend(); ++it) out += *it;
      return Value(std::move(out));
    }
    Array items = to_list(v);
    std::reverse(items.begin(), items.end());
    return Value(std::move(items));
  }
  if (name == "attr") return attribute_path(v, args.get(0, nullptr).to_str());
  if (name == "format") return Value(percent_format(v.to_str(), args.positional));
  if (name == "wordcount") return Value(static_cast<int64_t>(split(v.to_str(), Value(), -1).size()));
  if (name == "pprint") return Value(v.repr());
  if (name == "center") {
    std::string s = v.to_str();
    size_t width = args.has(0, "width") ? static_cast<size_t>(args.get(0, "width").as_int()) : 80;
    size_t len = utf8_length(s);
    if (len >= width) return Value(s);
    size_t left = (width - len) / 2;
    return Value(std::string(left, ' ') + s + std::string(width - len - left, ' '));
  }
  if (name == "from_json") {
    // llama.cpp extension some DeepSeek templates use to accept string arguments.
    if (!v.is_string()) return v;
    try {
      return Value::from_json(nlohmann::json::parse(v.str()));
    } catch (const nlohmann::json::exception& e) {
      throw std::runtime_error(std::string("from_json: ") + e.what());
    }
  }
  throw std::runtime_error("no filter named '" + name + "'");
}

bool apply_test(const std::string& name, const Value& v, CallArgs& args) {
  if (name == "defined") return !v.is_undefined();
  if (name == "undefined") return v.is_undefined();
  if (name == "none") return v.is_none();
  if (name == "string") return v.is_string();
  if (name == "mapping") return v.is_object();
  // Jinja2's Undefined defines __iter__, __len__ and __getitem__, so it passes both tests.
  if (name == "iterable") return v.is_string() || v.is_array() || v.is_object() || v.is_undefined();
  if (name == "sequence") return v.is_string() || v.is_array() || v.is_object() || v.is_undefined();
  if (name == "number") return v.is_number();
  if (name == "integer") return v.is_int();
  if (name == "float") return v.is_float();
  if (name == "boolean") return v.is_bool();
  if (name == "true") return v.is_bool() && v.as_bool();
  if (name == "false") return v.is_bool() && !v.as_bool();
  if (name == "callable") return v.is_callable();
  if (name == "odd" || name == "even") {
    if (!v.is_number()) type_error("odd/even expects a number", v);
    return (v.as_int() % 2 != 0) == (name == "odd");
  }
  if (name == "divisibleby") {
    int64_t d = args.get(0, "num").as_int();
    return d != 0 && v.as_int() % d == 0;
  }
  Value other = args.get(0, nullptr);
  if (name == "eq" || name == "equalto" || name == "==") return v.equals(other);
  if (name == "ne" || name == "!=") return !v.equals(other);
  if (name == "lt" || name == "lessthan" || name == "<") return v.less(other);
  if (name == "gt" || name == "greaterthan" || name == ">") return other.less(v);
  if (name == "le" || name == "<=") return !other.less(v);
  if (name == "ge" || name == ">=") return !v.less(other);
  if (name == "sameas") return v.kind() == other.kind() && (v.is_none() || v.is_undefined() || v.equals(other));
  if (name == "in") {
    if (other.is_string()) return v.is_string() && other.str().find(v.str()) != std::string::npos;
    for (const auto& x : to_list(other))
      if (x.equals(v)) return true;
    return false;
  }
  if (name == "lower") return v.is_string() && to_lower(v.str()) == v.str();
  if (name == "upper") return v.is_string() && to_upper(v.str()) == v.str();
  throw std::runtime_error("no test named '" + name + "'");
}

namespace {

Value string_method(const std::string& s, const std::string& name, CallArgs& a) {
  if (name == "strip") return Value(strip_chars(s, a.get(0, "chars"), true, true));
  if (name == "lstrip") return Value(strip_chars(s, a.get(0, "chars"), true, false));
  if (name == "rstrip") return Value(strip_chars(s, a.get(0, "chars"), false, true));
  if (name == "split" || name == "rsplit") {
    int64_t maxsplit = a.has(1, "maxsplit") ? a.get(1, "maxsplit").as_int() : -1;
    return Value(name == "split" ? split(s, a.get(0, "sep"), maxsplit) : rsplit(s, a.get(0, "sep"), maxsplit));
  }
  if (name == "splitlines") {
    Array lines;
    size_t start = 0;
    for (size_t i = 0; i < s.size(); ++i)
      if (s[i] == '\n') {
        lines.emplace_back(s.substr(start, i - start));
        start = i + 1;
      }
    if (start < s.size()) lines.emplace_back(s.substr(start));
    return Value(std::move(lines));
  }
  if (name == "startswith") return Value(starts_or_ends(s, a.get(0, "prefix"), true));
  if (name == "endswith") return Value(starts_or_ends(s, a.get(0, "suffix"), false));
  if (name == "replace") {
    int64_t count = a.has(2, "count") ? a.get(2, "count").as_int() : -1;
    return Value(replace_all(s, a.get(0, "old").to_str(), a.get(1, "new").to_str(), count));
  }
  if (name == "upper") return Value(to_upper(s));
  if (name == "lower") return Value(to_lower(s));
  if (name == "title") return Value(title(s));
  if (name == "capitalize") return Value(capitalize(s));
  if (name == "format") return Value(python_format(s, a));
  if (name == "join") {
    std::string out;
    bool first = true;
    for (const auto& item : to_list(a.get(0, nullptr))) {
      if (!first) out += s;
      first = false;
      out += item.to_str();
    }
    return Value(std::move(out));
  }
  if (name == "find" || name == "rfind" || name == "index" || name == "rindex") {
    std::string sub = a.get(0, nullptr).to_str();
    size_t p = (name == "find" || name == "index") ? s.find(sub) : s.rfind(sub);
    if (p == std::string::npos) {
      if (name == "index" || name == "rindex") throw std::runtime_error("substring not found");
      return Value(-1);
    }
    return Value(static_cast<int64_t>(utf8_length(s.substr(0, p))));
  }
  if (name == "count") {
    std::string sub = a.get(0, nullptr).to_str();
    if (sub.empty()) return Value(static_cast<int64_t>(utf8_length(s) + 1));
    int64_t n = 0;
    for (size_t p = s.find(sub); p != std::string::npos; p = s.find(sub, p + sub.size())) ++n;
    return Value(n);
  }
  if (name == "removeprefix" || name == "removesuffix") {
    std::string x = a.get(0, nullptr).to_str();
    bool pre = name == "removeprefix";
    if (starts_or_ends(s, Value(x), pre))
      return Value(pre ? s.substr(x.size()) : s.substr(0, s.size() - x.size()));
    return Value(s);
  }
  auto all_of = [&](auto pred) {
    return Value(!s.empty() && std::all_of(s.begin(), s.end(), [&](char c) { return pred(static_cast<unsigned char>(c)); }));
  };
  if (name == "isdigit" || name == "isnumeric" || name == "isdecimal") return all_of([](unsigned char c) { return std::isdigit(c) != 0; });
  if (name == "isalpha") return all_of([](unsigned char c) { return std::isalpha(c) != 0 || c >= 0x80; });
  if (name == "isalnum") return all_of([](unsigned char c) { return std::isalnum(c) != 0 || c >= 0x80; });
  if (name == "isspace") return all_of([](unsigned char c) { return is_py_space(static_cast<char>(c)); });
  if (name == "islower") return Value(to_lower(s) == s && to_upper(s) != s);
  if (name == "isupper") return Value(to_upper(s) == s && to_lower(s) != s);
  throw std::runtime_error("'str' object has no attribute '" + name + "'");
}

Value list_method(const Value& self, const std::string& name, CallArgs& a) {
  Array& arr = self.array();
  if (name == "append") {
    arr.push_back(a.get(0, nullptr));
    return Value::none();
  }
  if (name == "extend") {
    for (const auto& x : to_list(a.get(0, nullptr))) arr.push_back(x);
    return Value::none();
  }
  if (name == "insert") {
    int64_t idx = a.get(0, nullptr).as_int();
    if (idx < 0) idx = std::max<int64_t>(0, idx + static_cast<int64_t>(arr.size()));
    idx = std::min<int64_t>(idx, static_cast<int64_t>(arr.size()));
    arr.insert(arr.begin() + idx, a.get(1, nullptr));
    return Value::none();
  }
  if (name == "pop") {
    if (arr.empty()) throw std::runtime_error("pop from empty list");
    int64_t idx = a.has(0, nullptr) ? a.get(0, nullptr).as_int() : -1;
    if (idx < 0) idx += static_cast<int64_t>(arr.size());
    if (idx < 0 || idx >= static_cast<int64_t>(arr.size())) throw std::runtime_error("pop index out of range");
    Value v = arr[static_cast<size_t>(idx)];
    arr.erase(arr.begin() + idx);
    return v;
  }
  if (name == "index" || name == "count") {
    Value x = a.get(0, nullptr);
    int64_t n = 0;
    for (size_t i = 0; i < arr.size(); ++i)
      if (arr[i].equals(x)) {
        if (name == "index") return Value(static_cast<int64_t>(i));
        ++n;
      }
    if (name == "index") throw std::runtime_error("value is not in list");
    return Value(n);
  }
  if (name == "remove") {
    Value x = a.get(0, nullptr);
    for (auto it = arr.begin(); it != arr.end(); ++it)
      if (it->equals(x)) {
        arr.erase(it);
        return Value::none();
      }
    throw std::runtime_error("list.remove(x): x not in list");
  }
  if (name == "copy") return Value(Array(arr));
  if (name == "reverse") {
    std::reverse(arr.begin(), arr.end());
    return Value::none();
  }
  if (name == "clear") {
    arr.clear();
    return Value::none();
  }
  throw std::runtime_error("'list' object has no attribute '" + name + "'");
}

Value dict_method(const Value& self, const std::string& name, CallArgs& a) {
  Object& o = self.obj();
  if (name == "items") return items_of(self);
  if (name == "keys") return Value(to_list(self));
  if (name == "values") {
    Array vals;
    for (const auto& kv : o.items) vals.push_back(kv.second);
    return Value(std::move(vals));
  }
  if (name == "get") {
    const Value* v = o.find(a.get(0, nullptr).to_str());
    if (v) return *v;
    return a.has(1, nullptr) ? a.get(1, nullptr) : Value::none();
  }
  if (name == "pop") {
    std::string key = a.get(0, nullptr).to_str();
    const Value* v = o.find(key);
    if (v) {
      Value out = *v;
      o.erase(key);
      return out;
    }
    if (a.has(1, nullptr)) return a.get(1, nullptr);
    throw std::runtime_error("KeyError: '" + key + "'");
  }
  if (name == "setdefault") {
    std::string key = a.get(0, nullptr).to_str();
    if (const Value* v = o.find(key)) return *v;
    Value d = a.has(1, nullptr) ? a.get(1, nullptr) : Value::none();
    o.set(key, d);
    return d;
  }
  if (name == "update") {
    Value other = a.get(0, nullptr);
    if (other.is_object())
      for (const auto& kv : other.obj().items) o.set(kv.first, kv.second);
    for (const auto& [k, v] : a.named) o.set(k, v);
    return Value::none();
  }
  if (name == "copy") {
    auto c = std::make_shared<Object>(o);
    return Value(c);
  }
  throw std::runtime_error("'dict' object has no attribute '" + name + "'");
}

bool is_string_method(const std::string& n) {
  static const char* const kNames[] = {"strip",   "lstrip",     "rstrip",      "split",        "rsplit",
                                       "splitlines", "startswith", "endswith", "replace",      "upper",
                                       "lower",   "title",      "capitalize",  "format",       "join",
                                       "find",    "rfind",      "index",       "rindex",       "count",
                                       "removeprefix", "removesuffix", "isdigit", "isnumeric", "isdecimal",
                                       "isalpha", "isalnum",    "isspace",     "islower",      "isupper"};
  return std::find_if(std::begin(kNames), std::end(kNames), [&](const char* k) { return n == k; }) !=
         std::end(kNames);
}
bool is_list_method(const std::string& n) {
  return n == "append" || n == "extend" || n == "insert" || n == "pop" || n == "index" || n == "count" ||
         n == "remove" || n == "copy" || n == "reverse" || n == "clear";
}
bool is_dict_method(const std::string& n) {
  return n == "items" || n == "keys" || n == "values" || n == "get" || n == "pop" || n == "setdefault" ||
         n == "update" || n == "copy";
}

std::string strftime_now(const std::string& fmt) {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  localtime_r(&t, &tm);
  char buf[256];
  size_t n = std::strftime(buf, sizeof buf, fmt.c_str(), &tm);
  return std::string(buf, n);
}

}  // namespace

std::optional<Value> bound_method(const Value& self, const std::string& name) {
  if (self.is_string() && is_string_method(name)) {
    std::string s = self.str();
    return Value::function(name, [s, name](CallArgs& a) { return string_method(s, name, a); });
  }
  if (self.is_array() && is_list_method(name))
    return Value::function(name, [self, name](CallArgs& a) { return list_method(self, name, a); });
  if (self.is_object() && is_dict_method(name))
    return Value::function(name, [self, name](CallArgs& a) { return dict_method(self, name, a); });
  return std::nullopt;
}

Value global_function(const std::string& name) {
  if (name == "range") {
    return Value::function("range", [](CallArgs& a) {
      int64_t start = 0, stop, step = 1;
      if (a.positional.size() == 1) {
        stop = a.positional[0].as_int();
      } else if (a.positional.size() >= 2) {
        start = a.positional[0].as_int();
        stop = a.positional[1].as_int();
        if (a.positional.size() >= 3) step = a.positional[2].as_int();
      } else {
        throw std::runtime_error("range expected at least 1 argument");
      }
      if (step == 0) throw std::runtime_error("range() arg 3 must not be zero");
      Array out;
      for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step) {
        out.emplace_back(i);
        if (out.size() > 1000000) throw std::runtime_error("range too large");
      }
      return Value(std::move(out));
    });
  }
  if (name == "namespace" || name == "dict") {
    return Value::function(name, [](CallArgs& a) {
      auto o = std::make_shared<Object>();
      for (const auto& p : a.positional)
        if (p.is_object())
          for (const auto& kv : p.obj().items) o->set(kv.first, kv.second);
      for (const auto& [k, v] : a.named) o->set(k, v);
      return Value(o);
    });
  }
  if (name == "raise_exception") {
    return Value::function("raise_exception", [](CallArgs& a) -> Value {
      throw TemplateError("raise_exception: " + a.get(0, nullptr).to_str());
    });
  }
  if (name == "strftime_now") {
    return Value::function("strftime_now", [](CallArgs& a) { return Value(strftime_now(a.get(0, nullptr).to_str())); });
  }
  return Value();
}

}  // namespace toolgate::engine::jinja
