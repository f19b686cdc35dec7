#include "engine/constrained/json_recognizer.h"

#include <algorithm>
#include <limits>

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

bool any_unseen(uint64_t seen, uint32_t lo, uint32_t hi) {
  for (uint32_t i = lo; i < hi; ++i)
    if (i >= 64 || !((seen >> i) & 1)) return true;
  return false;
}

}  // namespace

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

void JsonRecognizer::copy_from(const JsonRecognizer& other) {
  depth_ = other.depth_;
  std::copy_n(other.frames_.begin(), depth_, frames_.begin());
}

void JsonRecognizer::start(const SchemaNode* root) {
  depth_ = 0;
  push(Kind::Value, root);
}

void JsonRecognizer::push(Kind kind, const SchemaNode* node) {
  frames_[static_cast<size_t>(depth_++)] = Frame{node, nullptr, 0, 0, 0, 0, -1, kind, 0, 0, 0};
}

JsonRecognizer::Result JsonRecognizer::pop() {
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

bool JsonRecognizer::whitespace(Frame& f, uint8_t) {
  if (f.ws >= kMaxWhitespace) return false;
  ++f.ws;
  return true;
}

bool JsonRecognizer::can_add_key(const Frame& f) {
  return f.node->additional != nullptr ||
         any_unseen(f.seen, 0, static_cast<uint32_t>(f.node->keys.size()));
}

bool JsonRecognizer::required_met(const Frame& f) { return (f.node->required & ~f.seen) == 0; }

bool JsonRecognizer::in_plain_string() const {
  if (depth_ == 0) return false;
  const Frame& f = frames_[static_cast<size_t>(depth_ - 1)];
  return f.kind == Kind::String && f.aux == kStrChar &&
         f.node->max_length == std::numeric_limits<uint32_t>::max();
}

JsonRecognizer::Result JsonRecognizer::feed(uint8_t c) {
  while (depth_ > 0) {
    Frame& f = frames_[static_cast<size_t>(depth_ - 1)];
    Step step = Step::Reject;
    switch (f.kind) {
      case Kind::Value:
        return feed_value(f, c) == Step::Accept ? Result::Accept : Result::Reject;
      case Kind::Object: return feed_object(f, c);
      case Kind::String: return feed_string(f, c);
      case Kind::Array:
        if (f.phase == kArrOpen && !is_ws(c) && c != ']') {
          // The first item starts with this byte.
          if (f.node->max_items == 0) return Result::Reject;
          f.phase = kArrAfterValue;
          f.ws = 0;
          push(Kind::Value, f.node->items);
          continue;
        }
        return feed_array(f, c);
      case Kind::Number: step = feed_number(f, c); break;
      case Kind::Literal: step = feed_literal(f, c); break;
    }
    if (step == Step::Accept) return Result::Accept;
    if (step == Step::Reject) return Result::Reject;
    // A number or literal ended before c: its container takes c. (A scalar root cannot end
    // this way; roots are containers.)
    if (pop() == Result::Complete) return Result::Reject;
  }
  return Result::Reject;
}

JsonRecognizer::Step JsonRecognizer::feed_value(Frame& f, uint8_t c) {
  if (is_ws(c)) return whitespace(f, c) ? Step::Accept : Step::Reject;
  const SchemaNode* n = f.node;
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
      return Step::Accept;
    case '-': case '0': case '1': case '2': case '3': case '4':
    case '5': case '6': case '7': case '8': case '9':
      if (!(n->types & (kTypeNumber | kTypeInteger))) return Step::Reject;
      f.kind = Kind::Number;
      f.phase = kNumStart;
      f.aux = (n->types & kTypeNumber) ? 0 : 1;
      f.len = 0;
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

JsonRecognizer::Result JsonRecognizer::feed_object(Frame& f, uint8_t c) {
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
            if (lo < 64 && ((f.seen >> lo) & 1)) return Result::Reject;  // a repeated key
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
      if (!known || !any_unseen(f.seen, lo, hi)) return Result::Reject;
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
        if (f.key < 64) f.seen |= uint64_t{1} << f.key;
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

JsonRecognizer::Result JsonRecognizer::feed_array(Frame& f, uint8_t c) {
  if (is_ws(c)) return whitespace(f, c) ? Result::Accept : Result::Reject;
  if (f.phase == kArrOpen) return (c == ']' && f.node->min_items == 0) ? pop() : Result::Reject;
  if (c == ',' && f.len < f.node->max_items) {
    f.ws = 0;
    push(Kind::Value, f.node->items);
    return Result::Accept;
  }
  if (c == ']' && f.len >= f.node->min_items) return pop();
  return Result::Reject;
}

JsonRecognizer::Result JsonRecognizer::feed_string(Frame& f, uint8_t c) {
  bool starts = false;
  switch (feed_string_byte(f.aux, c, starts)) {
    case StringByte::Reject: return Result::Reject;
    case StringByte::Close: return f.len >= f.node->min_length ? pop() : Result::Reject;
    case StringByte::Accept:
      if (starts && f.len++ >= f.node->max_length) return Result::Reject;
      return Result::Accept;
  }
  return Result::Reject;
}

JsonRecognizer::Step JsonRecognizer::feed_number(Frame& f, uint8_t c) {
  const bool digit = c >= '0' && c <= '9';
  const bool int_only = f.aux & 1;
  const bool room = f.len < kMaxNumberChars;
  // '.', 'e' and an exponent sign must leave room for the digit that has to follow them.
  const bool room2 = f.len + 2 <= kMaxNumberChars;
  const bool exp = (c == 'e' || c == 'E') && !int_only && room2;
  auto go = [&](uint8_t phase) {
    f.phase = phase;
    ++f.len;
    return Step::Accept;
  };
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
      return Step::EndBefore;
    case kNumDot: return digit ? go(kNumFrac) : Step::Reject;
    case kNumFrac:
      if (digit && room) return go(kNumFrac);
      if (exp) return go(kNumExp);
      return Step::EndBefore;
    case kNumExp:
      if ((c == '+' || c == '-') && room2) return go(kNumExpSign);
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

JsonRecognizer::Step JsonRecognizer::feed_literal(Frame& f, uint8_t c) {
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
