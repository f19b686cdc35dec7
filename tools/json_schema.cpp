#include "tools/json_schema.h"

#include <cmath>
#include <cstddef>
#include <optional>

namespace toolgate::tools {
namespace {

using nlohmann::json;

// RFC 6901: '~' -> "~0", '/' -> "~1".
std::string escape_pointer_token(const std::string& token) {
  std::string out;
  out.reserve(token.size());
  for (char c : token) {
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else {
      out += c;
    }
  }
  return out;
}

std::size_t count_code_points(const std::string& s) {
  std::size_t n = 0;
  for (unsigned char c : s) {
    if ((c & 0xC0) != 0x80) ++n;  // count every byte that is not a continuation byte
  }
  return n;
}

bool is_whole_number(const json& v) {
  if (v.is_number_integer()) return true;
  if (!v.is_number_float()) return false;
  const double d = v.get<double>();
  return std::isfinite(d) && std::floor(d) == d;
}

// A non-negative integer keyword such as minLength; absent or malformed -> nullopt.
std::optional<std::size_t> count_keyword(const json& schema, const char* key) {
  auto it = schema.find(key);
  if (it == schema.end() || !it->is_number_integer() || it->get<long long>() < 0) {
    return std::nullopt;
  }
  return it->get<std::size_t>();
}

bool matches_type(const std::string& type, const json& v) {
  if (type == "object") return v.is_object();
  if (type == "array") return v.is_array();
  if (type == "string") return v.is_string();
  if (type == "boolean") return v.is_boolean();
  if (type == "null") return v.is_null();
  if (type == "number") return v.is_number();
  if (type == "integer") return is_whole_number(v);
  return false;  // unknown type name: nothing matches, which surfaces the schema bug
}

std::string format_number(double d) {
  json j = d;
  if (is_whole_number(j) && std::fabs(d) < 9.007199254740992e15) {
    return std::to_string(static_cast<long long>(d));
  }
  return j.dump();
}

class Validator {
 public:
  void check(const json& schema, const json& v, const std::string& ptr) {
    if (!schema.is_object()) return;  // `true`/`{}`-like schemas accept everything

    if (auto it = schema.find("type"); it != schema.end()) {
      if (!check_type(*it, v, ptr)) return;  // further keywords would only add noise
    }
    if (auto it = schema.find("enum"); it != schema.end() && it->is_array()) {
      bool found = false;
      for (const auto& candidate : *it) found = found || candidate == v;
      if (!found) add(ptr, "must be one of " + it->dump() + ", got " + v.dump());
    }
    if (auto it = schema.find("const"); it != schema.end() && *it != v) {
      add(ptr, "must be " + it->dump() + ", got " + v.dump());
    }
    if (v.is_number()) check_number(schema, v.get<double>(), ptr);
    if (v.is_string()) check_string(schema, v.get_ref<const std::string&>(), ptr);
    if (v.is_array()) check_array(schema, v, ptr);
    if (v.is_object()) check_object(schema, v, ptr);
  }

  std::vector<SchemaViolation> take() { return std::move(errors_); }

 private:
  void add(const std::string& ptr, std::string message) {
    errors_.push_back({ptr, std::move(message)});
  }

  bool check_type(const json& type, const json& v, const std::string& ptr) {
    if (type.is_string()) {
      const auto& t = type.get_ref<const std::string&>();
      if (matches_type(t, v)) return true;
      add(ptr, "expected " + t + ", got " + json_type_name(v));
      return false;
    }
    if (type.is_array()) {
      std::string names;
      for (const auto& t : type) {
        if (!t.is_string()) continue;
        if (matches_type(t.get_ref<const std::string&>(), v)) return true;
        names += (names.empty() ? "" : " or ") + t.get<std::string>();
      }
      add(ptr, "expected " + names + ", got " + json_type_name(v));
      return false;
    }
    return true;
  }

  void check_number(const json& schema, double d, const std::string& ptr) {
    auto bound = [&](const char* key) -> const json* {
      auto it = schema.find(key);
      return it != schema.end() && it->is_number() ? &*it : nullptr;
    };
    if (const json* b = bound("minimum"); b && d < b->get<double>()) {
      add(ptr, "must be >= " + format_number(b->get<double>()) + ", got " + format_number(d));
    }
    if (const json* b = bound("maximum"); b && d > b->get<double>()) {
      add(ptr, "must be <= " + format_number(b->get<double>()) + ", got " + format_number(d));
    }
    if (const json* b = bound("exclusiveMinimum"); b && d <= b->get<double>()) {
      add(ptr, "must be > " + format_number(b->get<double>()) + ", got " + format_number(d));
    }
    if (const json* b = bound("exclusiveMaximum"); b && d >= b->get<double>()) {
      add(ptr, "must be < " + format_number(b->get<double>()) + ", got " + format_number(d));
    }
  }

  void check_string(const json& schema, const std::string& s, const std::string& ptr) {
    const std::size_t length = count_code_points(s);
    if (auto n = count_keyword(schema, "minLength"); n && length < *n) {
      add(ptr, "must be at least " + std::to_string(*n) + " characters long, got " +
                   std::to_string(length));
    }
    if (auto n = count_keyword(schema, "maxLength"); n && length > *n) {
      add(ptr, "must be at most " + std::to_string(*n) + " characters long, got " +
                   std::to_string(length));
    }
  }

  void check_array(const json& schema, const json& v, const std::string& ptr) {
    if (auto n = count_keyword(schema, "minItems"); n && v.size() < *n) {
      add(ptr,
          "must have at least " + std::to_string(*n) + " items, got " + std::to_string(v.size()));
    }
    if (auto n = count_keyword(schema, "maxItems"); n && v.size() > *n) {
      add(ptr,
          "must have at most " + std::to_string(*n) + " items, got " + std::to_string(v.size()));
    }
    if (auto it = schema.find("items"); it != schema.end() && it->is_object()) {
      for (std::size_t i = 0; i < v.size(); ++i) check(*it, v[i], ptr + "/" + std::to_string(i));
    }
  }

  void check_object(const json& schema, const json& v, const std::string& ptr) {
    const auto props = schema.find("properties");
    const bool have_props = props != schema.end() && props->is_object();
    if (auto it = schema.find("required"); it != schema.end() && it->is_array()) {
      for (const auto& name : *it) {
        if (name.is_string() && !v.contains(name.get_ref<const std::string&>())) {
          add(ptr + "/" + escape_pointer_token(name.get<std::string>()),
              "required property is missing");
        }
      }
    }
    const auto additional = schema.find("additionalProperties");
    const bool closed =
        additional != schema.end() && additional->is_boolean() && !additional->get<bool>();
    for (const auto& [key, value] : v.items()) {
      const std::string child = ptr + "/" + escape_pointer_token(key);
      if (have_props) {
        if (auto p = props->find(key); p != props->end()) {
          check(*p, value, child);
          continue;
        }
      }
      if (closed) add(child, "unexpected property");
    }
  }

  std::vector<SchemaViolation> errors_;
};

}  // namespace

std::string SchemaViolation::to_string() const {
  return (pointer.empty() ? std::string("(root)") : pointer) + ": " + message;
}

std::vector<SchemaViolation> validate_json(const nlohmann::json& schema,
                                           const nlohmann::json& instance) {
  Validator validator;
  validator.check(schema, instance, "");
  return validator.take();
}

std::string describe(const std::vector<SchemaViolation>& violations) {
  std::string out;
  for (const auto& v : violations) {
    if (!out.empty()) out += "; ";
    out += v.to_string();
  }
  return out;
}

std::string json_type_name(const nlohmann::json& value) {
  switch (value.type()) {
    case json::value_t::null:
      return "null";
    case json::value_t::boolean:
      return "boolean";
    case json::value_t::string:
      return "string";
    case json::value_t::array:
      return "array";
    case json::value_t::object:
      return "object";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
      return "integer";
    case json::value_t::number_float:
      return "number";
    default:
      return "binary";
  }
}

}  // namespace toolgate::tools
