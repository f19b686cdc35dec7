#include "engine/tokenizer/unicode.h"

#include <array>

namespace toolgate::engine::unicode {
namespace {

// Flat table over all code points: 2.2 MB, built once; a lookup is one load on the hot path.
const std::vector<uint16_t>& flag_table() {
  static const std::vector<uint16_t> table = [] {
    std::vector<uint16_t> t(kMaxCodepoint + 1, kUndefined);
    for (size_t i = 0; i < kFlagRangeCount; ++i) {
      const uint32_t end = i + 1 < kFlagRangeCount ? kFlagRanges[i + 1].first : kMaxCodepoint + 1;
      for (uint32_t c = kFlagRanges[i].first; c < end; ++c) t[c] = kFlagRanges[i].flags;
    }
    return t;
  }();
  return table;
}

struct ByteMaps {
  std::array<uint32_t, 256> to_cpt{};
  std::array<int16_t, 512> to_byte{};  // images are all below U+0200
};

const ByteMaps& byte_maps() {
  static const ByteMaps maps = [] {
    ByteMaps m;
    m.to_byte.fill(-1);
    auto printable = [](int b) {
      return (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
    };
    uint32_t next = 256;
    for (int b = 0; b < 256; ++b) {
      m.to_cpt[b] = printable(b) ? static_cast<uint32_t>(b) : next++;
      m.to_byte[m.to_cpt[b]] = static_cast<int16_t>(b);
    }
    return m;
  }();
  return maps;
}

}  // namespace

uint16_t flags(uint32_t cpt) {
  return cpt <= kMaxCodepoint ? flag_table()[cpt] : 0;
}

bool decode_utf8(std::string_view s, std::vector<uint32_t>& out) {
  bool clean = true;
  const auto* p = reinterpret_cast<const uint8_t*>(s.data());
  const size_t n = s.size();
  size_t i = 0;
  auto cont = [&](size_t k) { return (p[k] & 0xC0) == 0x80; };
  while (i < n) {
    const uint8_t b = p[i];
    if (b < 0x80) {
      out.push_back(b);
      i += 1;
    } else if ((b & 0xE0) == 0xC0 && i + 1 < n && cont(i + 1)) {
      out.push_back(((b & 0x1Fu) << 6) | (p[i + 1] & 0x3Fu));
      i += 2;
    } else if ((b & 0xF0) == 0xE0 && i + 2 < n && cont(i + 1) && cont(i + 2)) {
      out.push_back(((b & 0x0Fu) << 12) | ((p[i + 1] & 0x3Fu) << 6) | (p[i + 2] & 0x3Fu));
      i += 3;
    } else if ((b & 0xF8) == 0xF0 && i + 3 < n && cont(i + 1) && cont(i + 2) && cont(i + 3) &&
               (((b & 0x07u) << 18) | ((p[i + 1] & 0x3Fu) << 12)) <= kMaxCodepoint) {
      // (llama.cpp throws later on code points above U+10FFFF; we treat them as malformed.)
      out.push_back(((b & 0x07u) << 18) | ((p[i + 1] & 0x3Fu) << 12) | ((p[i + 2] & 0x3Fu) << 6) |
                    (p[i + 3] & 0x3Fu));
      i += 4;
    } else {
      out.push_back(kReplacementChar);
      i += 1;
      clean = false;
    }
  }
  return clean;
}

void append_utf8(uint32_t c, std::string& out) {
  if (c < 0x80) {
    out.push_back(static_cast<char>(c));
  } else if (c < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (c >> 6)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else if (c < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (c >> 12)));
    out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | ((c >> 18) & 0x07)));
    out.push_back(static_cast<char>(0x80 | ((c >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  }
}

uint32_t byte_to_codepoint(uint8_t byte) { return byte_maps().to_cpt[byte]; }

int codepoint_to_byte(uint32_t cpt) {
  return cpt < byte_maps().to_byte.size() ? byte_maps().to_byte[cpt] : -1;
}

}  // namespace toolgate::engine::unicode
