#include "engine/constrained/json_thread.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>

#include "engine/constrained/string_pattern.h"

namespace toolgate::engine::constrained {
namespace {

enum ObjectPhase : uint8_t { kObjOpen, kObjKeyStart, kObjKey, kObjColon, kObjAfterValue };
enum ArrayPhase : uint8_t { kArrOpen, kArrAfterValue };
enum NumberPhase : uint8_t {
  kNumStart, kNumMinus, kNumZero, kNumInt, kNumDot, kNumFrac, kNumExp, kNumExpSign, kNumExpDigits
};
// feed_string_byte() states: between characters, after '\', in a \u escape (hex digits left;
// kHex3AfterD: "\uD" was read and the next digit must keep it out of the surrogates), and in a
// UTF-8 sequence (continuation bytes left, some with the narrower first range RFC 3629 gives).
enum StringState : uint8_t {
  kStrChar, kStrEscape, kHex4, kHex3AfterD, kHex3, kHex2, kHex1,
  kCont1, kCont2, kCont3, kContE0, kContED, kContF0, kContF4
};

const std::vector<std::string> kBooleanLiterals = {"false", "true"};
const std::vector<std::string> kNullLiterals = {"null"};

bool is_ws(uint8_t c) { return c == ' ' || c == '\n' || c == '\t' || c == '\r'; }
bool is_hex(uint8_t c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
bool in(uint8_t c, uint8_t lo, uint8_t hi) { return c >= lo && c <= hi; }

using LD = long double;

LD pow10(int k) {
  LD r = 1;
  for (int i = 0; i < k; ++i) r *= 10;
  for (int i = 0; i > k; --i) r /= 10;
  return r;
}

// The magnitude x = |value| allowed by bounds for a number of the given sign.
struct MagnitudeRange {
  LD lo, hi;
  bool lo_ex, hi_ex;
};

MagnitudeRange magnitude_range(const NumberBounds& b, bool negative) {
  MagnitudeRange r{};
  if (!negative) {
    r = {b.minimum, b.maximum, b.exclusive_minimum, b.exclusive_maximum};
  } else {
    r = {-static_cast<LD>(b.maximum), -static_cast<LD>(b.minimum), b.exclusive_maximum,
         b.exclusive_minimum};
  }
  if (r.lo < 0) {
    r.lo = 0;
    r.lo_ex = false;
  }
  return r;
}

// Some integer in [a, end) within the range (exact: integers and bounds are exact here).
bool hits_integer(const MagnitudeRange& m, LD a, LD end) {
  LD first = std::max(a, std::ceil(m.lo));
  if (m.lo_ex && first == m.lo) first += 1;
  LD last = std::min(end - 1, std::floor(m.hi));
  if (m.hi_ex && last == m.hi) last -= 1;
  return first <= last;
}

// Some point a + j*step (j >= 0) below end within the range. The decimal grid is not exact in
// binary, so inclusive bounds are widened and exclusive ones narrowed by a few ulps; the exact
// test (number_in_bounds, in doubles) decides when the number ends.
bool hits_grid(const MagnitudeRange& m, LD a, LD end, LD step) {
  const LD eps_lo = std::fabs(m.lo) * 4e-16L, eps_hi = std::fabs(m.hi) * 4e-16L;
  const LD lo = m.lo_ex ? m.lo + eps_lo : m.lo - eps_lo;
  const LD hi = m.hi_ex ? m.hi - eps_hi : m.hi + eps_hi;
  LD j = lo > a ? std::ceil((lo - a) / step) : 0;
  LD x = a + j * step;
  if (m.lo_ex && x <= lo) x += step;
  if (x > end - step / 2) return false;
  return m.hi_ex ? x < hi : x <= hi;
}

}  // namespace

bool number_reachable(const NumberBounds& bounds, bool integer_only, bool negative,
                      uint64_t digits, uint32_t fraction, NumberPrefix phase, uint32_t budget) {
  const MagnitudeRange m = magnitude_range(bounds, negative);
  if (m.hi < m.lo) return false;
  const int r = static_cast<int>(budget);
  const LD d = static_cast<LD>(digits);
  switch (phase) {
    case NumberPrefix::Minus:
      if (r < 1) return false;
      if (hits_integer(m, 0, pow10(r))) return true;
      return !integer_only && r >= 3 && hits_grid(m, 0, pow10(r - 2), pow10(-(r - 2)));
    case NumberPrefix::Zero:
      if (hits_integer(m, 0, 1)) return true;
      return !integer_only && r >= 2 && hits_grid(m, 0, 1, pow10(-(r - 1)));
    case NumberPrefix::Int:
      for (int k = 0; k <= r; ++k) {
        const LD base = d * pow10(k), width = pow10(k);
        if (hits_integer(m, base, base + width)) return true;
        if (!integer_only && r - k >= 2 && hits_grid(m, base, base + width, pow10(-(r - k - 1))))
          return true;
        if (base > m.hi) break;  // longer numbers only grow
      }
      return false;
    case NumberPrefix::Dot:
      return r >= 1 && hits_grid(m, d, d + 1, pow10(-r));
    case NumberPrefix::Fraction: {
      const LD scale = pow10(-static_cast<int>(fraction));
      const LD base = d * scale;
      return hits_grid(m, base, base + scale, pow10(-static_cast<int>(fraction) - r));
    }
  }
  return false;
}

bool number_in_bounds(const NumberBounds& b, bool negative, uint64_t digits, uint32_t fraction) {
  char text[48];
  int n = std::snprintf(text, sizeof text, "%s%llu", negative ? "-" : "",
                        static_cast<unsigned long long>(digits));
  double v = 0;
  if (fraction > 0) {
    // digits / 10^fraction written as a decimal: the same double a JSON parser reads.
    char digits_text[32];
    const int nd = std::snprintf(digits_text, sizeof digits_text, "%llu",
                                 static_cast<unsigned long long>(digits));
    std::string s = negative ? "-" : "";
    const int f = static_cast<int>(fraction);
    if (nd <= f) {
      s += "0." + std::string(static_cast<size_t>(f - nd), '0') + digits_text;
    } else {
      s.append(digits_text, static_cast<size_t>(nd - f));
      s += '.';
      s.append(digits_text + (nd - f));
    }
    v = std::strtod(s.c_str(), nullptr);
  } else {
    (void)n;
    v = std::strtod(text, nullptr);
  }
  if (b.exclusive_minimum ? !(v > b.minimum) : !(v >= b.minimum)) return false;
  if (b.exclusive_maximum ? !(v < b.maximum) : !(v <= b.maximum)) return false;
  return true;
}

bool narrow_literals(const std::vector<std::string>& list, uint32_t& lo, uint32_t& hi,
                     uint32_t len, uint8_t c) {
  // Within the range the entry that ends at `len` (if any) comes first, the rest are ordered
  // by their byte at `len`; std::string orders bytes as unsigned char.
  auto begin = list.begin() + lo, end = list.begin() + hi;
  auto first = std::partition_point(begin, end, [&](const std::string& s) {
    return s.size() <= len || static_cast<uint8_t>(s[len]) < c;
  });
  auto last = std::partition_point(
      first, end, [&](const std::string& s) { return static_cast<uint8_t>(s[len]) == c; });
  if (first == last) return false;
  lo = static_cast<uint32_t>(first - list.begin());
  hi = static_cast<uint32_t>(last - list.begin());
  return true;
}

StringByte feed_string_byte(uint8_t& state, uint8_t c, bool& starts_char) {
  starts_char = false;
  auto to = [&](uint8_t next) {
    state = next;
    return StringByte::Accept;
  };
  switch (state) {
    case kStrChar:
      if (c == '"') return StringByte::Close;
      starts_char = true;
      if (c == '\\') return to(kStrEscape);
      if (c < 0x20) return StringByte::Reject;
      if (c < 0x80) return StringByte::Accept;
      if (in(c, 0xC2, 0xDF)) return to(kCont1);
      if (c == 0xE0) return to(kContE0);
      if (c == 0xED) return to(kContED);
      if (in(c, 0xE1, 0xEF)) return to(kCont2);
      if (c == 0xF0) return to(kContF0);
      if (c == 0xF4) return to(kContF4);
      if (in(c, 0xF1, 0xF3)) return to(kCont3);
      return StringByte::Reject;
    case kStrEscape:
      if (c == 'u') return to(kHex4);
      if (c == '"' || c == '\\' || c == '/' || c == 'b' || c == 'f' || c == 'n' || c == 'r' ||
          c == 't')
        return to(kStrChar);
      return StringByte::Reject;
    case kHex4:
      if (c == 'd' || c == 'D') return to(kHex3AfterD);
      return is_hex(c) ? to(kHex3) : StringByte::Reject;
    case kHex3AfterD: return in(c, '0', '7') ? to(kHex2) : StringByte::Reject;
    case kHex3: return is_hex(c) ? to(kHex2) : StringByte::Reject;
    case kHex2: return is_hex(c) ? to(kHex1) : StringByte::Reject;
    case kHex1: return is_hex(c) ? to(kStrChar) : StringByte::Reject;
    case kCont1: return in(c, 0x80, 0xBF) ? to(kStrChar) : StringByte::Reject;
    case kCont2: return in(c, 0x80, 0xBF) ? to(kCont1) : StringByte::Reject;
    case kCont3: return in(c, 0x80, 0xBF) ? to(kCont2) : StringByte::Reject;
    case kContE0: return in(c, 0xA0, 0xBF) ? to(kCont1) : StringByte::Reject;
    case kContED: return in(c, 0x80, 0x9F) ? to(kCont1) : StringByte::Reject;
    case kContF0: return in(c, 0x90, 0xBF) ? to(kCont2) : StringByte::Reject;
    case kContF4: return in(c, 0x80, 0x8F) ? to(kCont2) : StringByte::Reject;
  }
  return StringByte::Reject;
}

void JsonThread::copy_from(const JsonThread& other) {
  depth_ = other.depth_;
  std::copy_n(other.frames_.begin(), depth_, frames_.begin());
}

bool JsonThread::operator==(const JsonThread& o) const {
  if (depth_ != o.depth_) return false;
  for (int i = 0; i < depth_; ++i) {
    const Frame& a = frames_[static_cast<size_t>(i)];
    const Frame& b = o.frames_[static_cast<size_t>(i)];
    if (a.node != b.node || a.literals != b.literals || a.seen != b.seen || a.lo != b.lo ||
        a.hi != b.hi || a.len != b.len || a.key != b.key || a.kind != b.kind ||
        a.phase != b.phase || a.aux != b.aux || a.ws != b.ws)
      return false;
  }
  return true;
}

void JsonThread::start(const SchemaNode* root) {
  depth_ = 0;
  push(Kind::Value, root);
}

void JsonThread::push(Kind kind, const SchemaNode* node) {
  frames_[static_cast<size_t>(depth_++)] = Frame{node, nullptr, 0, 0, 0, 0, -1, kind, 0, 0, 0};
}

const SchemaNode* JsonThread::pending_union() const {
  if (depth_ == 0) return nullptr;
  const Frame& f = frames_[static_cast<size_t>(depth_ - 1)];
  return f.kind == Kind::Value && !f.node->any_of.empty() ? f.node : nullptr;
}

void JsonThread::resolve(const SchemaNode* alternative) {
  frames_[static_cast<size_t>(depth_ - 1)].node = alternative;
}

JsonThread::Result JsonThread::pop() {
  if (--depth_ == 0) return Result::Complete;
  Frame& parent = frames_[static_cast<size_t>(depth_ - 1)];
  parent.ws = 0;
  if (parent.kind == Kind::Object) {
    parent.phase = kObjAfterValue;
  } else {
    parent.phase = kArrAfterValue;
    ++parent.len;
  }
  return Result::Accept;
}

bool JsonThread::whitespace(Frame& f, uint8_t) {
  if (f.ws >= kMaxWhitespace) return false;
  ++f.ws;
  return true;
}

// Object frames keep the next declared key position in `seen`: keys at positions
// seen .. next_required[seen] may come next.
bool JsonThread::can_add_key(const Frame& f) {
  return f.node->additional != nullptr || f.seen < f.node->keys.size();
}

bool JsonThread::required_met(const Frame& f) {
  return f.node->next_required[f.seen] == f.node->keys.size();
}

namespace {

bool key_in_window(const SchemaNode* n, uint64_t next, uint32_t i) {
  const uint32_t pos = n->key_order[i];
  return pos >= next && pos <= n->next_required[next];
}

bool any_key_in_window(const SchemaNode* n, uint64_t next, uint32_t lo, uint32_t hi) {
  for (uint32_t i = lo; i < hi; ++i)
    if (key_in_window(n, next, i)) return true;
  return false;
}

}  // namespace

bool JsonThread::in_plain_string() const {
  if (depth_ == 0) return false;
  const Frame& f = frames_[static_cast<size_t>(depth_ - 1)];
  return f.kind == Kind::String && f.aux == kStrChar && f.node->pattern == nullptr &&
         f.node->max_length == std::numeric_limits<uint32_t>::max();
}

bool JsonThread::number_can_end(const Frame& f) {
  switch (f.phase) {
    case kNumZero:
    case kNumInt:
    case kNumFrac:
      return !f.node->bounds.bounded() || number_in_bounds(f.node->bounds, f.hi & 1, f.seen, f.lo);
    case kNumExpDigits: return true;  // exponents only where there are no bounds
    default: return false;
  }
}

bool JsonThread::can_end() const {
  if (depth_ == 0) return true;
  if (depth_ != 1) return false;
  const Frame& f = frames_[0];
  if (f.kind == Kind::Number) return number_can_end(f);
  if (f.kind == Kind::Literal) return (*f.literals)[f.lo].size() == f.len;
  return false;
}

JsonThread::Result JsonThread::feed(uint8_t c) {
  while (depth_ > 0) {
    Frame& f = frames_[static_cast<size_t>(depth_ - 1)];
    Step step = Step::Reject;
    switch (f.kind) {
      case Kind::Value:
        switch (feed_value(f, c)) {
          case Step::Accept: return Result::Accept;
          case Step::Fork: return Result::Fork;
          default: return Result::Reject;
        }
      case Kind::Object: return feed_object(f, c);
      case Kind::String: return feed_string(f, c);
      case Kind::Array:
        if (f.phase == kArrOpen && !is_ws(c) && c != ']') {
          // The first item starts with this byte.
          if (f.node->max_items == 0) return Result::Reject;
          f.phase = kArrAfterValue;
          f.ws = 0;
          push(Kind::Value, f.node->item(0));
          continue;
        }
        return feed_array(f, c);
      case Kind::Number: step = feed_number(f, c); break;
      case Kind::Literal: step = feed_literal(f, c); break;
    }
    if (step == Step::Accept) return Result::Accept;
    if (step == Step::Reject) return Result::Reject;
    // A number or literal ended before c: its container takes c. (Nothing follows a root
    // scalar: its end is the end of the text, see can_end().)
    if (pop() == Result::Complete) return Result::Reject;
  }
  return Result::Reject;
}

JsonThread::Step JsonThread::feed_value(Frame& f, uint8_t c) {
  if (is_ws(c)) return whitespace(f, c) ? Step::Accept : Step::Reject;
  const SchemaNode* n = f.node;
  if (!n->any_of.empty()) return Step::Fork;
  f.ws = 0;
  auto literal = [&](const std::vector<std::string>& list) {
    f.kind = Kind::Literal;
    f.literals = &list;
    f.lo = 0;
    f.hi = static_cast<uint32_t>(list.size());
    f.len = 0;
    return feed_literal(f, c) == Step::Accept ? Step::Accept : Step::Reject;
  };
  if (!n->enum_literals.empty()) return literal(n->enum_literals);
  switch (c) {
    case '"':
      if (!(n->types & kTypeString)) return Step::Reject;
      f.kind = Kind::String;
      f.aux = kStrChar;
      f.len = 0;
      if (n->pattern) {
        f.lo = pattern_start(*n->pattern);
        f.hi = 0;
        f.seen = 0;
      }
      return Step::Accept;
    case '-': case '0': case '1': case '2': case '3': case '4':
    case '5': case '6': case '7': case '8': case '9':
      if (!(n->types & (kTypeNumber | kTypeInteger))) return Step::Reject;
      f.kind = Kind::Number;
      f.phase = kNumStart;
      f.aux = (n->types & kTypeNumber) ? 0 : 1;
      f.len = 0;
      f.seen = 0;
      f.lo = 0;
      f.hi = 0;
      return feed_number(f, c);
    case 't': case 'f':
      return (n->types & kTypeBoolean) ? literal(kBooleanLiterals) : Step::Reject;
    case 'n': return (n->types & kTypeNull) ? literal(kNullLiterals) : Step::Reject;
    case '{':
      if (!(n->types & kTypeObject) || depth_ >= kMaxDepth) return Step::Reject;
      f.kind = Kind::Object;
      f.phase = kObjOpen;
      f.literals = &n->keys;
      f.seen = 0;
      f.key = -1;
      return Step::Accept;
    case '[':
      if (!(n->types & kTypeArray) || depth_ >= kMaxDepth) return Step::Reject;
      f.kind = Kind::Array;
      f.phase = kArrOpen;
      f.len = 0;
      return Step::Accept;
    default: return Step::Reject;
  }
}

JsonThread::Result JsonThread::feed_object(Frame& f, uint8_t c) {
  const SchemaNode* n = f.node;
  switch (f.phase) {
    case kObjOpen:
    case kObjKeyStart:
      if (is_ws(c)) return whitespace(f, c) ? Result::Accept : Result::Reject;
      if (c == '"' && can_add_key(f)) {
        f.phase = kObjKey;
        f.ws = 0;
        f.aux = kStrChar;
        f.lo = 0;
        f.hi = static_cast<uint32_t>(n->keys.size());
        if (f.lo < f.hi && !narrow_literals(n->keys, f.lo, f.hi, 0, c)) f.hi = f.lo;
        f.len = 1;
        return Result::Accept;
      }
      if (c == '}' && f.phase == kObjOpen && required_met(f)) return pop();
      return Result::Reject;
    case kObjKey: {
      uint32_t lo = f.lo, hi = f.hi;
      const bool known = lo < hi && narrow_literals(n->keys, lo, hi, f.len, c);
      if (n->additional) {
        bool starts = false;
        StringByte r = feed_string_byte(f.aux, c, starts);
        if (r == StringByte::Reject) return Result::Reject;
        if (r == StringByte::Close) {
          f.key = -1;
          if (known && n->keys[lo].size() == f.len + 1) {
            // A declared key: only where the declared order allows it.
            if (!key_in_window(n, f.seen, lo)) return Result::Reject;
            f.key = static_cast<int32_t>(lo);
          }
          f.phase = kObjColon;
          f.ws = 0;
          return Result::Accept;
        }
        f.lo = known ? lo : 0;
        f.hi = known ? hi : 0;
        ++f.len;
        return Result::Accept;
      }
      if (!known || !any_key_in_window(n, f.seen, lo, hi)) return Result::Reject;
      f.lo = lo;
      f.hi = hi;
      if (n->keys[lo].size() == ++f.len) {  // that byte was the key's closing quote
        f.key = static_cast<int32_t>(lo);
        f.phase = kObjColon;
        f.ws = 0;
      }
      return Result::Accept;
    }
    case kObjColon: {
      if (is_ws(c)) return whitespace(f, c) ? Result::Accept : Result::Reject;
      if (c != ':') return Result::Reject;
      const SchemaNode* value = n->additional;
      if (f.key >= 0) {
        value = n->key_values[static_cast<size_t>(f.key)];
        f.seen = n->key_order[static_cast<size_t>(f.key)] + 1;
      }
      f.phase = kObjAfterValue;
      f.ws = 0;
      push(Kind::Value, value);
      return Result::Accept;
    }
    case kObjAfterValue:
      if (is_ws(c)) return whitespace(f, c) ? Result::Accept : Result::Reject;
      if (c == ',' && can_add_key(f)) {
        f.phase = kObjKeyStart;
        f.ws = 0;
        return Result::Accept;
      }
      if (c == '}' && required_met(f)) return pop();
      return Result::Reject;
  }
  return Result::Reject;
}

JsonThread::Result JsonThread::feed_array(Frame& f, uint8_t c) {
  if (is_ws(c)) return whitespace(f, c) ? Result::Accept : Result::Reject;
  if (f.phase == kArrOpen) return (c == ']' && f.node->min_items == 0) ? pop() : Result::Reject;
  if (c == ',' && f.len < f.node->max_items) {
    f.ws = 0;
    push(Kind::Value, f.node->item(f.len));
    return Result::Accept;
  }
  if (c == ']' && f.len >= f.node->min_items) return pop();
  return Result::Reject;
}

JsonThread::Result JsonThread::feed_string(Frame& f, uint8_t c) {
  bool starts = false;
  const StringByte r = feed_string_byte(f.aux, c, starts);
  if (r == StringByte::Reject) return Result::Reject;
  if (r == StringByte::Close) {
    if (f.len < f.node->min_length) return Result::Reject;
    if (f.node->pattern && !pattern_accepting(*f.node->pattern, f.lo)) return Result::Reject;
    return pop();
  }
  if (starts && f.len++ >= f.node->max_length) return Result::Reject;
  if (f.node->pattern &&
      !pattern_feed_byte(*f.node->pattern, f.lo, f.hi, f.seen, c))
    return Result::Reject;
  return Result::Accept;
}

JsonThread::Step JsonThread::feed_number(Frame& f, uint8_t c) {
  const bool digit = c >= '0' && c <= '9';
  const bool int_only = f.aux & 1;
  const bool bounded = f.node->bounds.bounded();
  const bool room = f.len < kMaxNumberChars;
  // '.', 'e' and an exponent sign must leave room for the digit that has to follow them.
  const bool room2 = f.len + 2 <= kMaxNumberChars;
  const bool exp = (c == 'e' || c == 'E') && !int_only && !bounded && room2;
  // Moves to `phase` and, with bounds, keeps only prefixes that can still end within them.
  auto go = [&](uint8_t phase) {
    const uint8_t old_phase = f.phase;
    const uint64_t old_seen = f.seen;
    const uint32_t old_lo = f.lo, old_hi = f.hi;
    f.phase = phase;
    ++f.len;
    if (c == '-') f.hi = 1;
    if (digit && phase != kNumExpDigits) {
      f.seen = f.seen * 10 + static_cast<uint64_t>(c - '0');
      if (phase == kNumFrac) ++f.lo;
    }
    if (bounded) {
      NumberPrefix prefix = NumberPrefix::Minus;
      switch (phase) {
        case kNumZero: prefix = NumberPrefix::Zero; break;
        case kNumInt: prefix = NumberPrefix::Int; break;
        case kNumDot: prefix = NumberPrefix::Dot; break;
        case kNumFrac: prefix = NumberPrefix::Fraction; break;
        default: break;
      }
      if (!number_reachable(f.node->bounds, int_only, f.hi & 1, f.seen, f.lo, prefix,
                            kMaxNumberChars - f.len)) {
        f.phase = old_phase;
        f.seen = old_seen;
        f.lo = old_lo;
        f.hi = old_hi;
        --f.len;
        return Step::Reject;
      }
    }
    return Step::Accept;
  };
  auto end_before = [&] { return number_can_end(f) ? Step::EndBefore : Step::Reject; };
  switch (f.phase) {
    case kNumStart:
      if (c == '-') return go(kNumMinus);
      [[fallthrough]];
    case kNumMinus:
      if (c == '0') return go(kNumZero);
      return digit ? go(kNumInt) : Step::Reject;
    case kNumZero:
    case kNumInt:
      if (digit && f.phase == kNumInt && room) return go(kNumInt);
      if (c == '.' && !int_only && room2) return go(kNumDot);
      if (exp) return go(kNumExp);
      return end_before();
    case kNumDot: return digit ? go(kNumFrac) : Step::Reject;
    case kNumFrac:
      if (digit && room) return go(kNumFrac);
      if (exp) return go(kNumExp);
      return end_before();
    case kNumExp:
      if ((c == '+' || c == '-') && room2) {
        f.phase = kNumExpSign;
        ++f.len;
        return Step::Accept;
      }
      [[fallthrough]];
    case kNumExpSign:
      if (!digit) return Step::Reject;
      f.ws = 1;  // exponent digits so far
      return go(kNumExpDigits);
    case kNumExpDigits:
      // Two exponent digits at most: 1e999 would parse as infinity.
      if (digit && room && f.ws < 2) {
        ++f.ws;
        return go(kNumExpDigits);
      }
      return Step::EndBefore;
  }
  return Step::Reject;
}

JsonThread::Step JsonThread::feed_literal(Frame& f, uint8_t c) {
  uint32_t lo = f.lo, hi = f.hi;
  if (narrow_literals(*f.literals, lo, hi, f.len, c)) {
    f.lo = lo;
    f.hi = hi;
    ++f.len;
    return Step::Accept;
  }
  return (*f.literals)[f.lo].size() == f.len ? Step::EndBefore : Step::Reject;
}

}  // namespace toolgate::engine::constrained
