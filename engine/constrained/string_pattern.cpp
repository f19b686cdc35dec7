#include "engine/constrained/string_pattern.h"

#include <algorithm>

#include "engine/constrained/regex.h"

namespace toolgate::engine::constrained {
namespace {

// `pending`: bits 0-3 what is left (continuation bytes or hex digits), bits 4-5 the kind.
constexpr uint32_t kUtf8 = 0x00, kEscape = 0x10, kHex = 0x20, kKindMask = 0x30;

int hex_value(uint8_t c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return c - 'A' + 10;
}

// Some code point in [lo, hi] keeps the DFA alive (surrogates are never written).
bool live_in(const Regex& re, uint32_t state, uint64_t lo, uint64_t hi) {
  if (hi > 0x10FFFF) hi = 0x10FFFF;
  if (lo > hi) return false;
  if (lo < 0xD800 && re.can_step_in(state, static_cast<uint32_t>(lo),
                                    static_cast<uint32_t>(std::min<uint64_t>(hi, 0xD7FF))))
    return true;
  if (hi > 0xDFFF && re.can_step_in(state, static_cast<uint32_t>(std::max<uint64_t>(lo, 0xE000)),
                                    static_cast<uint32_t>(hi)))
    return true;
  return false;
}

bool step(const Regex& re, uint32_t& state, uint64_t cp) {
  const uint32_t next = re.step(state, static_cast<uint32_t>(cp));
  if (next == Regex::kDead) return false;
  state = next;
  return true;
}

}  // namespace

uint32_t pattern_start(const Regex& re) { return re.start(); }
bool pattern_accepting(const Regex& re, uint32_t state) { return re.accepting(state); }

bool pattern_feed_byte(const Regex& re, uint32_t& state, uint32_t& pending, uint64_t& cp,
                       uint8_t c) {
  const uint32_t left = pending & 0xF;
  switch (pending & kKindMask) {
    case kUtf8:
      if (left == 0) {  // a new character
        if (c == '\\') {
          pending = kEscape;
          return live_in(re, state, 0, 0xFFFF);
        }
        if (c < 0x80) return step(re, state, c);
        uint32_t n = 0;
        uint64_t lo = 0, hi = 0;
        if (c >= 0xC2 && c <= 0xDF) { n = 1; cp = c & 0x1F; }
        else if (c >= 0xE0 && c <= 0xEF) { n = 2; cp = c & 0x0F; }
        else { n = 3; cp = c & 0x07; }
        lo = cp << (6 * n);
        hi = lo | ((uint64_t{1} << (6 * n)) - 1);
        // E0 and F0 leads continue past the overlong forms UTF-8 forbids.
        lo = std::max<uint64_t>(lo, n == 1 ? 0x80 : n == 2 ? 0x800 : 0x10000);
        pending = kUtf8 | n;
        return live_in(re, state, lo, hi);
      }
      cp = (cp << 6) | (c & 0x3F);
      pending = kUtf8 | (left - 1);
      if (left == 1) return step(re, state, cp);
      return live_in(re, state, cp << (6 * (left - 1)),
                     (cp << (6 * (left - 1))) | ((uint64_t{1} << (6 * (left - 1))) - 1));
    case kEscape: {
      pending = 0;
      switch (c) {
        case 'u': pending = kHex | 4; cp = 0; return live_in(re, state, 0, 0xFFFF);
        case 'b': return step(re, state, 0x08);
        case 'f': return step(re, state, 0x0C);
        case 'n': return step(re, state, 0x0A);
        case 'r': return step(re, state, 0x0D);
        case 't': return step(re, state, 0x09);
        default: return step(re, state, c);  // '"', '\\', '/'
      }
    }
    case kHex:
      cp = cp * 16 + static_cast<uint64_t>(hex_value(c));
      pending = left == 1 ? 0 : (kHex | (left - 1));
      if (left == 1) return step(re, state, cp);
      return live_in(re, state, cp << (4 * (left - 1)),
                     (cp << (4 * (left - 1))) | ((uint64_t{1} << (4 * (left - 1))) - 1));
  }
  return false;
}

}  // namespace toolgate::engine::constrained
