#pragma once
// Code-point level helpers for the tokenizers: lenient UTF-8 decoding (the way llama.cpp does it,
// so token ids match bit for bit), per-code-point category flags, and GPT-2's byte<->unicode map.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace toolgate::engine::unicode {

// General-category flags of one code point (one of the first eight bits is set for every code
// point), plus the White_Space property. Bit values are shared with the generator script.
enum CodepointFlags : uint16_t {
  kUndefined = 0x01,    // Cn
  kNumber = 0x02,       // \p{N}
  kLetter = 0x04,       // \p{L}
  kSeparator = 0x08,    // \p{Z}
  kMark = 0x10,         // \p{M}
  kPunctuation = 0x20,  // \p{P}
  kSymbol = 0x40,       // \p{S}
  kControl = 0x80,      // \p{C} other than Cn
  kWhitespace = 0x100,  // \s (Unicode White_Space)
};

struct FlagRange {
  uint32_t first;
  uint16_t flags;
};
extern const FlagRange kFlagRanges[];
extern const size_t kFlagRangeCount;
extern const uint32_t kUnicodeVersionMajor;

constexpr uint32_t kMaxCodepoint = 0x10FFFF;
constexpr uint32_t kReplacementChar = 0xFFFD;

// Flags of a code point; 0 for values beyond U+10FFFF.
uint16_t flags(uint32_t cpt);

// Length of the UTF-8 sequence a lead byte announces (1 for stray continuation bytes).
inline size_t utf8_sequence_length(uint8_t lead) {
  static constexpr uint8_t kLen[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};
  return kLen[lead >> 4];
}

// Decodes UTF-8 leniently: a malformed sequence yields U+FFFD and skips one byte (llama.cpp's
// rule, so that ids agree on bad input). Returns false if any replacement was made.
bool decode_utf8(std::string_view text, std::vector<uint32_t>& out);

void append_utf8(uint32_t cpt, std::string& out);

// GPT-2 byte-level BPE maps every byte to a printable code point (bytes that are already printable
// map to themselves, the rest to U+0100..). These are that map and its inverse.
uint32_t byte_to_codepoint(uint8_t byte);
// Returns -1 when the code point is not the image of a byte.
int codepoint_to_byte(uint32_t cpt);

}  // namespace toolgate::engine::unicode
