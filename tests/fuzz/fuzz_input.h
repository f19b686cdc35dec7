#pragma once
// Input layout shared by the fuzz targets that need more than one piece: an options byte, then
// two texts separated by the first NUL byte. Seeds stay easy to write by hand:
//   printf '\x01%s\0%s' "$template" "$context" > tests/fuzz/chat_template/seed
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace toolgate::fuzz {

struct FuzzInput {
  uint8_t options = 0;
  std::string_view first;
  std::string_view second;  // empty when the input holds no NUL
};

inline FuzzInput split_input(const uint8_t* data, size_t size) {
  FuzzInput in;
  if (size == 0) return in;
  in.options = data[0];
  std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
  size_t nul = rest.find('\0');
  in.first = rest.substr(0, nul);
  if (nul != std::string_view::npos) in.second = rest.substr(nul + 1);
  return in;
}

// A finding that is not a memory error (a broken invariant): abort so libFuzzer saves the input.
[[noreturn]] void invariant_failed(const char* what);

}  // namespace toolgate::fuzz
