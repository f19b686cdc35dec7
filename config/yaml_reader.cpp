#include "config/yaml_reader.h"

#include <cctype>
#include <charconv>
#include <cmath>
#include <limits>
#include <regex>
#include <set>
#include <utility>

#include "config/byte_size.h"
#include "config/did_you_mean.h"

namespace toolgate::config {
namespace {

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string quoted(const std::string& s) { return "'" + s + "'"; }

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      default:
        if (c < 0x20) {
          static const char* kHex = "0123456789abcdef";
          out += "\\u00";
          out += kHex[c >> 4];
          out += kHex[c & 15];
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

bool is_plain(const YAML::Node& node) { return node.Tag() == "?" || node.Tag().empty(); }

}  // namespace

std::string child_path(const std::string& parent, const std::string& key) {
  return parent.empty() ? key : parent + "." + key;
}

std::string index_path(const std::string& parent, size_t index) {
  return parent + "[" + std::to_string(index) + "]";
}

std::string describe_node(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map:
      return "a mapping";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Scalar:
      return quoted(node.Scalar());
    default:
      return "nothing (null)";
  }
}

const YAML::Node* YamlMapping::find(const std::string& key) const {
  const auto it = values_.find(key);
  return it == values_.end() ? nullptr : &it->second;
}

YamlReader::YamlReader(std::string file, EnvLookup env, std::vector<ConfigIssue>& issues,
                       PositionMap& positions)
    : file_(std::move(file)), env_(std::move(env)), issues_(issues), positions_(positions) {}

SourcePosition YamlReader::position_of(const YAML::Node& node) const {
  const YAML::Mark mark = node.Mark();
  if (mark.line < 0) return {};
  return {mark.line + 1, mark.column + 1};
}

void YamlReader::error(SourcePosition at, const std::string& path, std::string message) {
  issues_.push_back({file_, at.line, at.column, path, std::move(message)});
}

void YamlReader::error(const YAML::Node& at, const std::string& path, std::string message) {
  // A null value's mark points past its key (often at the next line); the key's recorded
  // position is where a reader looks.
  const auto known = positions_.find(path);
  error(known != positions_.end() ? known->second : position_of(at), path, std::move(message));
}

std::optional<YamlMapping> YamlReader::mapping(const YAML::Node& node, const std::string& path,
                                               const std::vector<std::string>& allowed_keys) {
  YamlMapping out;
  out.path_ = path;
  if (node.IsNull()) return out;
  if (!node.IsMap()) {
    error(node, path, "expected a mapping (key: value lines), got " + describe_node(node));
    return std::nullopt;
  }
  std::map<std::string, SourcePosition> seen;
  for (auto it = node.begin(); it != node.end(); ++it) {
    const YAML::Node key = it->first;
    const YAML::Node value = it->second;
    const SourcePosition key_pos = position_of(key);
    if (!key.IsScalar()) {
      error(key_pos, path, "keys must be plain names, got " + describe_node(key));
      continue;
    }
    const std::string name = key.Scalar();
    const std::string sub = child_path(path, name);
    if (const auto dup = seen.find(name); dup != seen.end()) {
      error(key_pos, sub,
            "duplicate key '" + name + "' (first given at line " +
                std::to_string(dup->second.line) + ")");
      continue;
    }
    seen[name] = key_pos;
    bool known = false;
    for (const auto& k : allowed_keys) known = known || k == name;
    if (!known) {
      std::string message = "unknown key '" + name + "'";
      if (const auto guess = closest_match(name, allowed_keys)) {
        message += "; did you mean '" + *guess + "'?";
      } else {
        message += "; expected one of: " + join(allowed_keys);
      }
      error(key_pos, sub, std::move(message));
      continue;
    }
    // A scalar is pointed at where it is written; a section (mapping or list) at its key,
    // which is the line a reader scans for.
    positions_[sub] = value.IsScalar() ? position_of(value) : key_pos;
    out.values_[name] = value;
  }
  return out;
}

std::optional<std::vector<YAML::Node>> YamlReader::list(const YAML::Node& node,
                                                        const std::string& path) {
  std::vector<YAML::Node> items;
  if (node.IsNull()) return items;
  if (!node.IsSequence()) {
    std::string message = "expected a list, got " + describe_node(node);
    if (node.IsScalar()) message += " (write [" + node.Scalar() + "] for a list of one)";
    error(node, path, std::move(message));
    return std::nullopt;
  }
  for (size_t i = 0; i < node.size(); ++i) {
    positions_[index_path(path, i)] = position_of(node[i]);
    items.push_back(node[i]);
  }
  return items;
}

std::optional<std::string> YamlReader::scalar(const YAML::Node& node, const std::string& path,
                                              const char* expected, bool expand) {
  if (!node.IsScalar()) {
    error(node, path, std::string("expected ") + expected + ", got " + describe_node(node));
    return std::nullopt;
  }
  if (!expand) return node.Scalar();
  EnvExpansion expanded = expand_env(node.Scalar(), env_);
  for (auto& e : expanded.errors) error(node, path, std::move(e));
  if (!expanded.errors.empty()) return std::nullopt;
  return std::move(expanded.value);
}

void YamlReader::read(const YamlMapping& m, const std::string& key, std::string& out, bool expand) {
  const YAML::Node* node = m.find(key);
  if (!node) return;
  if (auto s = scalar(*node, child_path(m.path(), key), "a string", expand)) out = std::move(*s);
}

void YamlReader::read(const YamlMapping& m, const std::string& key, std::optional<int>& out) {
  const YAML::Node* node = m.find(key);
  if (!node) return;
  const std::string path = child_path(m.path(), key);
  const auto text = scalar(*node, path, "an integer", true);
  if (!text) return;
  long long value = 0;
  const char* end = text->data() + text->size();
  const auto [ptr, ec] = std::from_chars(text->data(), end, value);
  if (text->empty() || ptr != end || (ec != std::errc() && ec != std::errc::result_out_of_range)) {
    error(*node, path, "expected an integer, got " + quoted(*text));
  } else if (ec == std::errc::result_out_of_range || value < std::numeric_limits<int>::min() ||
             value > std::numeric_limits<int>::max()) {
    error(*node, path, "integer out of range, got " + quoted(*text));
  } else {
    out = static_cast<int>(value);
  }
}

void YamlReader::read(const YamlMapping& m, const std::string& key, int& out) {
  std::optional<int> value;
  read(m, key, value);
  if (value) out = *value;
}

void YamlReader::read(const YamlMapping& m, const std::string& key, std::optional<double>& out) {
  const YAML::Node* node = m.find(key);
  if (!node) return;
  const std::string path = child_path(m.path(), key);
  const auto text = scalar(*node, path, "a number", true);
  if (!text) return;
  double value = 0;
  const char* begin = text->data();
  const char* end = begin + text->size();
  const auto [ptr, ec] = std::from_chars(begin, end, value);
  if (text->empty() || ptr != end || ec != std::errc() || !std::isfinite(value)) {
    error(*node, path, "expected a number, got " + quoted(*text));
  } else {
    out = value;
  }
}

void YamlReader::read(const YamlMapping& m, const std::string& key, double& out) {
  std::optional<double> value;
  read(m, key, value);
  if (value) out = *value;
}

void YamlReader::read(const YamlMapping& m, const std::string& key, bool& out) {
  const YAML::Node* node = m.find(key);
  if (!node) return;
  const std::string path = child_path(m.path(), key);
  const auto text = scalar(*node, path, "true or false", true);
  if (!text) return;
  const std::string v = lower(*text);
  if (v == "true" || v == "yes" || v == "on") {
    out = true;
  } else if (v == "false" || v == "no" || v == "off") {
    out = false;
  } else {
    error(*node, path, "expected true or false, got " + quoted(*text));
  }
}

void YamlReader::read(const YamlMapping& m, const std::string& key, std::vector<std::string>& out) {
  const YAML::Node* node = m.find(key);
  if (!node) return;
  const std::string path = child_path(m.path(), key);
  const auto items = list(*node, path);
  if (!items) return;
  std::vector<std::string> values;
  bool ok = true;
  for (size_t i = 0; i < items->size(); ++i) {
    if (auto s = scalar((*items)[i], index_path(path, i), "a string", true)) {
      values.push_back(std::move(*s));
    } else {
      ok = false;
    }
  }
  if (ok) out = std::move(values);
}

void YamlReader::read_byte_size(const YamlMapping& m, const std::string& key,
                                std::optional<uint64_t>& out) {
  const YAML::Node* node = m.find(key);
  if (!node) return;
  const std::string path = child_path(m.path(), key);
  const auto text = scalar(*node, path, "a size such as 512MiB, 1GB or a byte count", true);
  if (!text) return;
  std::string why;
  if (const auto bytes = parse_byte_size(*text, &why)) {
    out = *bytes;
  } else {
    error(*node, path,
          "expected a size such as 512MiB, 1GB or a byte count, got " + quoted(*text) + ": " + why);
  }
}

void YamlReader::read_byte_size(const YamlMapping& m, const std::string& key, uint64_t& out) {
  std::optional<uint64_t> value;
  read_byte_size(m, key, value);
  if (value) out = *value;
}

void YamlReader::read_as_json(const YamlMapping& m, const std::string& key, std::string& out) {
  const YAML::Node* node = m.find(key);
  if (!node) return;
  const std::string path = child_path(m.path(), key);
  if (node->IsNull()) {
    out = "{}";
    return;
  }
  if (!node->IsMap()) {
    error(*node, path, "expected a mapping, got " + describe_node(*node));
    return;
  }
  if (auto json = json_of(*node, path)) out = std::move(*json);
}

// YAML scalars are untyped text; plain (unquoted) ones become JSON null, booleans and numbers
// when they read as such, everything quoted stays a string.
std::optional<std::string> YamlReader::json_of(const YAML::Node& node, const std::string& path) {
  static const std::regex kNumber(R"(-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?)");
  switch (node.Type()) {
    case YAML::NodeType::Map: {
      std::string out = "{";
      bool ok = true;
      std::set<std::string> seen;
      for (auto it = node.begin(); it != node.end(); ++it) {
        if (!it->first.IsScalar()) {
          error(it->first, path, "keys must be plain names, got " + describe_node(it->first));
          ok = false;
          continue;
        }
        const std::string name = it->first.Scalar();
        const std::string sub = child_path(path, name);
        if (!seen.insert(name).second) {
          error(position_of(it->first), sub, "duplicate key '" + name + "'");
          ok = false;
          continue;
        }
        positions_[sub] = position_of(it->second.IsScalar() ? it->second : it->first);
        auto value = json_of(it->second, sub);
        if (!value) {
          ok = false;
          continue;
        }
        if (out.size() > 1) out += ",";
        out += json_string(name) + ":" + *value;
      }
      if (!ok) return std::nullopt;
      return out + "}";
    }
    case YAML::NodeType::Sequence: {
      std::string out = "[";
      bool ok = true;
      for (size_t i = 0; i < node.size(); ++i) {
        const std::string sub = index_path(path, i);
        positions_[sub] = position_of(node[i]);
        auto value = json_of(node[i], sub);
        if (!value) {
          ok = false;
          continue;
        }
        if (i) out += ",";
        out += *value;
      }
      if (!ok) return std::nullopt;
      return out + "]";
    }
    case YAML::NodeType::Scalar: {
      if (is_plain(node)) {
        const std::string& s = node.Scalar();
        const std::string v = lower(s);
        if (v == "null" || s == "~") return "null";
        if (v == "true" || v == "false") return v;
        if (std::regex_match(s, kNumber)) return s;
      }
      auto text = scalar(node, path, "a value", true);
      if (!text) return std::nullopt;
      return json_string(*text);
    }
    default:
      return "null";
  }
}

}  // namespace toolgate::config
