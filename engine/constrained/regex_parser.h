#pragma once
// The first half of Regex::compile (regex.h): the pattern text becomes a small syntax tree whose
// leaves are sets of code points. Everything regex.h documents as refused is refused here, with
// the construct and its byte offset; the tree only holds the five shapes a regular language needs.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace toolgate::engine::constrained {

// A sorted list of disjoint, non-adjacent [lo, hi] code-point ranges, never holding surrogates.
struct CodeRange {
  uint32_t lo, hi;
};
using CodeSet = std::vector<CodeRange>;

struct RegexNode {
  static constexpr uint32_t kUnbounded = UINT32_MAX;
  enum class Kind : uint8_t { Empty, Set, Concat, Alt, Repeat };

  Kind kind = Kind::Empty;
  uint32_t offset = 0;        // byte offset in the pattern where this node starts
  CodeSet set;                // Set: one code point out of these
  std::vector<int> children;  // Concat, Alt: indexes into RegexAst::nodes; Repeat: one
  uint32_t min = 0, max = 0;  // Repeat: {min, max}, max may be kUnbounded
};

struct RegexAst {
  std::vector<RegexNode> nodes;
  int root = -1;
};

// Parses a pattern in the subset of regex.h. Returns nullopt and sets *error on refusal.
std::optional<RegexAst> parse_regex(std::string_view pattern, std::string* error);

// Set helpers, shared with format tests and the DFA builder.
CodeSet normalize_code_set(std::vector<CodeRange> ranges);  // sort, merge, drop surrogates
CodeSet complement_code_set(const CodeSet& set);

}  // namespace toolgate::engine::constrained
