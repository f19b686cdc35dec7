#pragma once
// A regular expression compiled to a DFA over Unicode code points, for FULL matching of a string:
// the JSON-schema `pattern` keyword (and `format`, through format_regex()) enforced while a model
// writes the string. A string the DFA accepts also matches the pattern under ECMAScript's
// unanchored search with the "u" flag (what ajv runs), because a full match is a match. For a
// pattern anchored at both ends the two languages are equal; without anchors ajv also takes
// strings that merely contain a match, of which the DFA admits none (a subset, by design).
//
// The documented regex subset (ECMAScript syntax, "u"-flag meaning; anything else is refused):
//   literals        any code point, written as UTF-8 in the pattern
//   .               any code point except the line terminators \n \r U+2028 U+2029 (as in JS)
//   \d \D \w \W     [0-9], [A-Za-z0-9_] and their complements
//   \s \S           JS white space and line terminators ([\t\n\v\f\r \u00a0\u1680\u2000-\u200a
//                   \u2028\u2029\u202f\u205f\u3000\ufeff]) and the complement
//   \n \t \r \f \v \0  control characters (\0 not followed by a digit)
//   \cX             control letter X
//   \xHH \uHHHH \u{H..}  code points; \uHHHH\uHHHH of a surrogate pair is one code point
//   \^ \$ \\ \. \* \+ \? \( \) \[ \] \{ \} \| \/ \-   the character itself
//   [abc] [a-z] [^...]  classes, with the escapes above inside (and \b = backspace there);
//                   [] matches nothing and [^] any code point
//   ( ) (?: ) (?<name> )  groups (nothing is captured: only the language matters)
//   |               alternation
//   * + ? {m} {m,} {m,n}  quantifiers, also lazy (*? +? ?? {m,n}?: same language), n <= 1000
//   ^ $             only at the start / end of the pattern or of one of its top-level
//                   alternatives, where a full match makes them always true; ignored there
// Refused with an error naming the construct and its byte offset: backreferences (\1, \k<n>),
// lookahead and lookbehind, \b \B outside classes, ^ or $ anywhere else, inline flags (?i),
// \p{..} \P{..}, lone ] { } (escape them), unknown escapes, broken UTF-8, lone surrogates,
// nesting deeper than kMaxNesting groups, and patterns whose automaton grows too large
// (kMaxNfaStates after expanding the counted repetitions, kMaxStates DFA states, or so many NFA
// states live at once, as in (?:.?){1000}, that compiling would take milliseconds). A pattern that
// matches no string at all (e.g. []) is refused too, since nothing could be generated.
//
// Surrogate code points (U+D800..U+DFFF) are never in the alphabet: they are not characters a
// JSON string can carry, so `.` or [^a] never lead into a state only they could leave.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace toolgate::engine::constrained {

class Regex {
 public:
  static constexpr uint32_t kDead = UINT32_MAX;
  static constexpr uint32_t kMaxStates = 2000;      // DFA states before dead ones are pruned
  static constexpr uint32_t kMaxNfaStates = 20000;  // after {m,n} copies are expanded
  static constexpr uint32_t kMaxRepeat = 1000;      // largest m or n in {m,n}
  static constexpr int kMaxNesting = 64;            // groups inside groups

  // One transition: every code point in [lo, hi] leads to `next`.
  struct Edge {
    uint32_t lo, hi, next;
  };

  // Parses and compiles; on an unsupported or invalid construct returns nullopt and sets
  // *error (if not null) to a one-line message naming the construct and its byte offset.
  // Never throws.
  static std::optional<Regex> compile(std::string_view pattern, std::string* error);

  uint32_t start() const { return 0; }
  // Next state after code point cp, or kDead (also from kDead). Only states from which an
  // accepting state is reachable exist, so any state other than kDead can still be completed.
  uint32_t step(uint32_t state, uint32_t cp) const;
  bool accepting(uint32_t state) const {
    return state < accepting_.size() && accepting_[state] != 0;
  }
  // Whether some code point in [lo, hi] leads to a live state: lets a caller refuse a UTF-8
  // lead byte or a partial \u escape as soon as none of the code points it can still become fit.
  bool can_step_in(uint32_t state, uint32_t lo, uint32_t hi) const;
  // The transitions leaving `state`: sorted, disjoint, all to live states.
  std::span<const Edge> edges(uint32_t state) const {
    return {edges_.data() + first_edge_[state], edges_.data() + first_edge_[state + 1]};
  }
  size_t state_count() const { return accepting_.size(); }

  // Whether the whole of `text` (UTF-8) is accepted; false for broken UTF-8. For tests and tools.
  bool full_match(std::string_view text) const;

 private:
  friend class RegexDfaBuilder;
  Regex() = default;

  std::vector<uint32_t> first_edge_;  // state s owns edges_[first_edge_[s], first_edge_[s + 1])
  std::vector<Edge> edges_;
  std::vector<uint8_t> accepting_;
};

// The regex (in the subset above) that stands for a JSON-schema `format`, or nullopt for a format
// not supported. Supported: date, time, date-time, uuid, email, ipv4, ipv6, hostname. Each
// describes a subset of what ajv-formats 3.0.1 accepts in its default "full" mode, chosen so
// every generated string is valid there: no Feb 29 (leap years are not modelled), a timezone
// always (Z or +hh:mm), seconds 00-59, lower-case hex in uuid and ipv6 (whose :: shorthand is
// left out), email from a conservative character set with a letters-only last domain label, and
// hostnames of at most five labels of at most 48 characters (ajv also caps the total at 253).
std::optional<std::string_view> format_regex(std::string_view format);

}  // namespace toolgate::engine::constrained
