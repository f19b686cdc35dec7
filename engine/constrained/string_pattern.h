#pragma once
// A JSON string body followed through a pattern's DFA (regex.h): the recognizer feeds raw
// bytes, the DFA reads code points, so this decodes UTF-8 sequences and JSON escapes and refuses
// a byte as soon as no character it can still become has a live transition.
#include <cstdint>

namespace toolgate::engine::constrained {

class Regex;

uint32_t pattern_start(const Regex& re);
bool pattern_accepting(const Regex& re, uint32_t state);
// One byte of the string body that feed_string_byte() (json_thread.h) accepted (so it is
// valid JSON string syntax and UTF-8 so far; not the closing quote). `state` is the DFA state,
// `pending` what is left of the current character (0 between characters) and `cp` its partly
// decoded code point. False when no character these bytes can still become fits the pattern.
bool pattern_feed_byte(const Regex& re, uint32_t& state, uint32_t& pending, uint64_t& cp,
                       uint8_t c);

}  // namespace toolgate::engine::constrained
