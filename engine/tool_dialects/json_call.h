#pragma once
// Pieces every dialect parser shares: finding where a streamed JSON value ends, checking that
// a JSON text is a tool call, and holding back partial markers.
#include <optional>
#include <string>
#include <string_view>

namespace toolgate::engine::tool_dialects {

// Follows a JSON object or array byte by byte (string- and escape-aware) to find its end.
// Only structure is tracked; the finished text is validated by parse_call().
class JsonValueScanner {
 public:
  enum class Status { NeedMore, Done, Invalid };
  // Deeper values are Invalid: nlohmann::json copies and prints recursively, and a model told
  // to repeat '[' could otherwise write enough of them in max_tokens to overflow the stack.
  static constexpr size_t kMaxDepth = 128;
  // The first byte must be '{' or '['. Invalid when a byte cannot occur in JSON outside a
  // string ('<' of a closing tag, mismatched brackets, nesting past kMaxDepth), so a broken
  // call is noticed early.
  Status feed(char c);
  void reset() { *this = JsonValueScanner(); }

 private:
  std::string stack_;
  bool in_string_ = false;
  bool escape_ = false;
};

struct ParsedCall {
  std::string name;
  std::string arguments;  // compact JSON text of the arguments object
};

// Accepts {"name": str, "arguments"|"parameters": object or JSON-object string}, nesting at
// most JsonValueScanner::kMaxDepth deep. On failure returns nullopt and sets *why.
std::optional<ParsedCall> parse_call(std::string_view json_text, std::string* why);

// Length of the longest suffix of `text` that is a proper prefix of `marker`: the bytes to
// hold back because the marker may be completed by the next piece.
size_t partial_marker_length(std::string_view text, std::string_view marker);

// JSON text of a string (for building forced prefixes).
std::string json_quote(std::string_view s);

bool is_json_space(char c);

}  // namespace toolgate::engine::tool_dialects
