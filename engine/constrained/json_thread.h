#pragma once
// One deterministic path through a JSON value that follows a compiled schema (json_schema.h),
// fed one byte at a time: a pushdown recognizer with a fixed array of small frames and nothing
// on the heap. Where the schema offers alternatives (anyOf / oneOf) the path stops with Fork
// before the value's first byte; JsonRecognizer (json_recognizer.h) then follows one copy per
// alternative. Everything else is decided byte by byte:
//  - it never accepts a prefix that cannot be finished: a key is only begun if one can still
//    be written, a ',' only if another key or item fits, a number only where some completion
//    lies within the schema's bounds and within a length a parser keeps exact;
//  - object keys come in the schema's declared order (optional ones may be skipped);
//  - whitespace between tokens is allowed up to kMaxWhitespace bytes in a row;
//  - strings are valid UTF-8 with JSON escapes; \u escapes of UTF-16 surrogates are refused
//    (a lone one would not parse, and models write such characters raw); a string with a
//    pattern follows the pattern's DFA code point by code point.
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "engine/constrained/json_schema.h"

namespace toolgate::engine::constrained {

class JsonThread {
 public:
  static constexpr int kMaxDepth = 24;             // open values (containers + the innermost)
  static constexpr int kMaxWhitespace = 32;        // whitespace bytes in a row
  static constexpr uint32_t kMaxNumberChars = 18;  // fits int64 and a double's exactness

  // Complete: the root value closed. Fork: see above (nothing consumed).
  enum class Result : uint8_t { Reject, Accept, Complete, Fork };

  JsonThread() = default;
  JsonThread(const JsonThread& other) { copy_from(other); }
  JsonThread& operator=(const JsonThread& other) {
    if (this != &other) copy_from(other);
    return *this;
  }
  bool operator==(const JsonThread& other) const;

  // Starts a value of `root`; leading whitespace is the caller's.
  void start(const SchemaNode* root);
  // After Reject the state is unspecified: try bytes on a copy.
  Result feed(uint8_t c);
  // After Fork: the union whose alternative must be chosen, and the choice.
  const SchemaNode* pending_union() const;
  void resolve(const SchemaNode* alternative);

  bool done() const { return depth_ == 0; }
  // May the text end here: the root closed, or a root number / literal is complete.
  bool can_end() const;
  // Inside a string of unbounded length and no pattern, between characters: every byte string
  // without '"', '\\', control bytes and broken UTF-8 is accepted from here and leads back to
  // such a state.
  bool in_plain_string() const;

 private:
  enum class Kind : uint8_t { Value, Object, Array, String, Number, Literal };

  struct Frame {
    const SchemaNode* node;
    const std::vector<std::string>* literals;  // Literal: the candidates; Object key: node->keys
    // Object: next declared key position. Number: the digits so far as an integer. String with
    // a pattern: the code point being decoded.
    uint64_t seen;
    // Literal / key: candidate range in *literals. Number: lo = fraction digits, hi = 1 if
    // negative. String with a pattern: lo = DFA state, hi = bytes of the character so far.
    uint32_t lo, hi;
    uint32_t len;  // Literal/key: bytes matched; String: code points; Array: items; Number: chars
    int32_t key;   // Object: index of the key being read or valued, -1 = another key
    Kind kind;
    uint8_t phase;
    uint8_t aux;  // String/key: escape and UTF-8 state; Number: integer only
    uint8_t ws;   // whitespace bytes in a row here; Number: exponent digits
  };

  enum class Step : uint8_t { Reject, Accept, EndBefore, Fork };  // EndBefore: re-feed

  void copy_from(const JsonThread& other);
  void push(Kind kind, const SchemaNode* node);
  Result pop();
  Step feed_value(Frame& f, uint8_t c);
  Result feed_object(Frame& f, uint8_t c);
  Result feed_array(Frame& f, uint8_t c);
  Result feed_string(Frame& f, uint8_t c);
  Step feed_number(Frame& f, uint8_t c);
  static Step feed_literal(Frame& f, uint8_t c);
  static bool whitespace(Frame& f, uint8_t c);
  static bool can_add_key(const Frame& f);
  static bool required_met(const Frame& f);
  static bool number_can_end(const Frame& f);

  std::array<Frame, kMaxDepth> frames_;
  int depth_ = 0;
};

// Narrows the range [lo, hi) of sorted `list` entries that share their first `len` bytes to
// those whose next byte is c. Returns false (range unchanged) when none has. Shared by keys,
// enum literals and tool names.
bool narrow_literals(const std::vector<std::string>& list, uint32_t& lo, uint32_t& hi,
                     uint32_t len, uint8_t c);

// One byte of a JSON string body. `state` is 0 between characters; returns Reject, Accept
// (`starts_char` set when the byte begins a new character) or Close (the unescaped '"').
enum class StringByte : uint8_t { Reject, Accept, Close };
StringByte feed_string_byte(uint8_t& state, uint8_t c, bool& starts_char);

// Whether a number with this prefix can still be completed within `bounds` using at most
// `budget` more characters (exposed for tests). `digits` are the digits written so far as an
// integer, `fraction` how many of them follow the '.', `phase` is one of NumberPrefix.
enum class NumberPrefix : uint8_t { Minus, Zero, Int, Dot, Fraction };
bool number_reachable(const NumberBounds& bounds, bool integer_only, bool negative,
                      uint64_t digits, uint32_t fraction, NumberPrefix phase, uint32_t budget);
// Whether the number written (digits / 10^fraction, negated) lies within bounds, compared as
// doubles the way a JSON parser and validator read it.
bool number_in_bounds(const NumberBounds& bounds, bool negative, uint64_t digits,
                      uint32_t fraction);

}  // namespace toolgate::engine::constrained
