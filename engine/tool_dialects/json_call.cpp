#include "engine/tool_dialects/json_call.h"

#include <nlohmann/json.hpp>

namespace toolgate::engine::tool_dialects {

bool is_json_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

namespace {

// Deeper than JsonValueScanner::kMaxDepth (brackets inside strings do not count)?
bool nests_too_deep(std::string_view text) {
  size_t depth = 0;
  bool in_string = false, escape = false;
  for (char c : text) {
    if (in_string) {
      if (escape) escape = false;
      else if (c == '\\') escape = true;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      if (++depth > JsonValueScanner::kMaxDepth) return true;
    } else if ((c == '}' || c == ']') && depth > 0) {
      --depth;
    }
  }
  return false;
}

}  // namespace

JsonValueScanner::Status JsonValueScanner::feed(char c) {
  if (in_string_) {
    if (escape_) escape_ = false;
    else if (c == '\\') escape_ = true;
    else if (c == '"') in_string_ = false;
    return Status::NeedMore;
  }
  switch (c) {
    case '"': in_string_ = true; return Status::NeedMore;
    case '{':
    case '[':
      if (stack_.size() >= kMaxDepth) return Status::Invalid;
      stack_ += c == '{' ? '}' : ']';
      return Status::NeedMore;
    case '}':
    case ']':
      if (stack_.empty() || stack_.back() != c) return Status::Invalid;
      stack_.pop_back();
      return stack_.empty() ? Status::Done : Status::NeedMore;
    default:
      if (stack_.empty()) return Status::Invalid;  // must start with { or [
      // Outside strings JSON only has literals, numbers, punctuation and whitespace.
      if (is_json_space(c) || c == ',' || c == ':' || c == '-' || c == '+' || c == '.' ||
          (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
        return Status::NeedMore;
      return Status::Invalid;
  }
}

std::optional<ParsedCall> parse_call(std::string_view json_text, std::string* why) {
  using nlohmann::ordered_json;
  if (nests_too_deep(json_text)) {
    *why = "tool call nests deeper than " + std::to_string(JsonValueScanner::kMaxDepth) + " levels";
    return std::nullopt;
  }
  ordered_json j = ordered_json::parse(json_text.begin(), json_text.end(), nullptr, false);
  if (j.is_discarded()) {
    *why = "tool call is not valid JSON";
    return std::nullopt;
  }
  if (!j.is_object()) {
    *why = "tool call is not a JSON object";
    return std::nullopt;
  }
  auto name = j.find("name");
  if (name == j.end() || !name->is_string() || name->get<std::string>().empty()) {
    *why = "tool call has no \"name\" string";
    return std::nullopt;
  }
  auto args = j.find("arguments");
  if (args == j.end()) args = j.find("parameters");
  ordered_json arguments = ordered_json::object();
  if (args != j.end()) {
    arguments = *args;
    if (arguments.is_string()) {
      // Some models quote the arguments object; accept it when the string holds an object.
      const std::string& quoted = args->get_ref<const std::string&>();
      if (nests_too_deep(quoted)) {
        *why = "tool call arguments nest deeper than " + std::to_string(JsonValueScanner::kMaxDepth) +
               " levels";
        return std::nullopt;
      }
      arguments = ordered_json::parse(quoted, nullptr, false);
    }
    if (arguments.is_null()) arguments = ordered_json::object();
    if (!arguments.is_object()) {
      *why = "tool call arguments are not a JSON object";
      return std::nullopt;
    }
  }
  return ParsedCall{name->get<std::string>(), arguments.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)};
}

size_t partial_marker_length(std::string_view text, std::string_view marker) {
  size_t max = std::min(text.size(), marker.size() - 1);
  for (size_t n = max; n > 0; --n)
    if (text.substr(text.size() - n) == marker.substr(0, n)) return n;
  return 0;
}

std::string json_quote(std::string_view s) { return nlohmann::json(std::string(s)).dump(); }

}  // namespace toolgate::engine::tool_dialects
