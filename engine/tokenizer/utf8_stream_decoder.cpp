// Utf8StreamDecoder (declared in engine/tokenizer.h).
#include <cstdint>
#include <string>
#include <string_view>

#include "engine/tokenizer.h"

namespace toolgate::engine {
namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";

// Length of the well-formed UTF-8 sequence starting at s[0] (Unicode Table 3-7), 0 if the
// bytes present are already ill-formed, or -k if the k bytes present are a valid but incomplete
// prefix. `bad_len` receives the length of the maximal ill-formed subpart to replace.
int classify(std::string_view s, size_t& bad_len) {
  const auto b0 = static_cast<uint8_t>(s[0]);
  bad_len = 1;
  if (b0 < 0x80) return 1;
  int need;
  uint8_t lo = 0x80, hi = 0xBF;  // allowed range of the second byte
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    need = 2;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    need = 3;
    if (b0 == 0xE0) lo = 0xA0;
    if (b0 == 0xED) hi = 0x9F;  // no surrogates
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    need = 4;
    if (b0 == 0xF0) lo = 0x90;
    if (b0 == 0xF4) hi = 0x8F;  // nothing above U+10FFFF
  } else {
    return 0;
  }
  for (int k = 1; k < need; ++k) {
    if (static_cast<size_t>(k) >= s.size()) return -k;
    const auto b = static_cast<uint8_t>(s[k]);
    const bool ok = k == 1 ? (b >= lo && b <= hi) : (b >= 0x80 && b <= 0xBF);
    if (!ok) {
      bad_len = static_cast<size_t>(k);
      return 0;
    }
  }
  return need;
}

}  // namespace

std::string Utf8StreamDecoder::push(std::string_view bytes) {
  pending_.append(bytes);
  std::string out;
  size_t i = 0;
  while (i < pending_.size()) {
    size_t bad_len = 0;
    const int n = classify(std::string_view(pending_).substr(i), bad_len);
    if (n > 0) {
      out.append(pending_, i, static_cast<size_t>(n));
      i += static_cast<size_t>(n);
    } else if (n == 0) {
      out += kReplacement;
      i += bad_len;
    } else {
      break;  // incomplete: wait for the rest of the character
    }
  }
  pending_.erase(0, i);
  return out;
}

std::string Utf8StreamDecoder::flush() {
  // Whatever is held is an incomplete prefix of one character: one replacement character.
  std::string out = pending_.empty() ? std::string() : std::string(kReplacement);
  pending_.clear();
  return out;
}

}  // namespace toolgate::engine
