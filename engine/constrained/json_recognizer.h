#pragma once
// An incremental pushdown recognizer for one JSON value that follows a compiled schema
// (json_schema.h), fed one byte at a time. It accepts exactly the byte strings that are
// prefixes of a schema-valid JSON text, and it never accepts a prefix that cannot be finished:
// a key is only begun if an unused one can still be written, a ',' only if another key or
// item fits, a number only within a length that a parser keeps exact.
//
// Whitespace between tokens is allowed up to kMaxWhitespace bytes in a row, so a model cannot
// stall in layout forever. Strings must be valid UTF-8 with JSON escapes; \u escapes of UTF-16
// surrogates are refused (a lone one would not parse, and models write such characters raw).
//
// The state is a fixed array of small frames and nothing on the heap, so copying it to try a
// token's bytes costs a few dozen bytes per open value.
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "engine/constrained/json_schema.h"

namespace toolgate::engine::constrained {

class JsonRecognizer {
 public:
  static constexpr int kMaxDepth = 16;          // open values (containers + the innermost one)
  static constexpr int kMaxWhitespace = 32;     // whitespace bytes in a row
  static constexpr uint32_t kMaxNumberChars = 18;  // fits int64 and a double's exactness

  enum class Result : uint8_t { Reject, Accept, Complete };  // Complete: the root value closed

  JsonRecognizer() = default;
  JsonRecognizer(const JsonRecognizer& other) { copy_from(other); }
  JsonRecognizer& operator=(const JsonRecognizer& other) {
    if (this != &other) copy_from(other);
    return *this;
  }

  // Starts a value of `root`, which must be an object or an array schema (their end is
  // unambiguous); leading whitespace is the caller's.
  void start(const SchemaNode* root);
  // After Reject the state is unspecified: try bytes on a copy.
  Result feed(uint8_t c);
  bool done() const { return depth_ == 0; }
  // Inside a string of unbounded length, between characters: every byte string without '"',
  // '\\', control bytes and broken UTF-8 is accepted from here and leads back to such a state.
  bool in_plain_string() const;

 private:
  enum class Kind : uint8_t { Value, Object, Array, String, Number, Literal };

  struct Frame {
    const SchemaNode* node;
    const std::vector<std::string>* literals;  // Literal: the candidates; Object key: node->keys
    uint64_t seen;                             // Object: bit i = keys[i] present
    uint32_t lo, hi;                           // candidate range in *literals
    uint32_t len;  // Literal/key: bytes matched; String: code points; Array: items; Number: chars
    int32_t key;   // Object: index of the key being read or valued, -1 = another key
    Kind kind;
    uint8_t phase;
    uint8_t aux;  // String/key: escape and UTF-8 state; Number: integer only; exponent digits
    uint8_t ws;   // whitespace bytes in a row at this frame's current position
  };

  enum class Step : uint8_t { Reject, Accept, EndBefore };  // EndBefore: value ended; re-feed

  void copy_from(const JsonRecognizer& other);
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

}  // namespace toolgate::engine::constrained
