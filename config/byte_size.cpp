#include "config/byte_size.h"

#include <array>
#include <cctype>
#include <charconv>
#include <cmath>
#include <utility>

namespace toolgate::config {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::optional<uint64_t> unit_multiplier(std::string_view unit) {
  static const std::array<std::pair<const char*, uint64_t>, 13> kUnits = {{
      {"", 1},
      {"b", 1},
      {"kb", 1000ull},
      {"mb", 1000ull * 1000},
      {"gb", 1000ull * 1000 * 1000},
      {"tb", 1000ull * 1000 * 1000 * 1000},
      {"kib", 1ull << 10},
      {"mib", 1ull << 20},
      {"gib", 1ull << 30},
      {"tib", 1ull << 40},
      {"k", 1ull << 10},
      {"m", 1ull << 20},
      {"g", 1ull << 30},
  }};
  const std::string u = lower(unit);
  if (u == "t") return 1ull << 40;
  for (const auto& [name, mult] : kUnits) {
    if (u == name) return mult;
  }
  return std::nullopt;
}

std::optional<uint64_t> fail(std::string* error, std::string message) {
  if (error) *error = std::move(message);
  return std::nullopt;
}

}  // namespace

std::optional<uint64_t> parse_byte_size(std::string_view text, std::string* error) {
  auto trim = [](std::string_view s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
    return s;
  };
  text = trim(text);
  if (text.empty()) return fail(error, "empty size");
  if (text.front() == '-') return fail(error, "size must not be negative");

  size_t digits_end = 0;
  bool seen_dot = false;
  while (digits_end < text.size()) {
    const char c = text[digits_end];
    if (std::isdigit(static_cast<unsigned char>(c))) {
      ++digits_end;
    } else if (c == '.' && !seen_dot) {
      seen_dot = true;
      ++digits_end;
    } else {
      break;
    }
  }
  const std::string_view number = text.substr(0, digits_end);
  const std::string_view unit = trim(text.substr(digits_end));
  if (number.empty() || number == ".") return fail(error, "no number");

  const auto mult = unit_multiplier(unit);
  if (!mult) {
    return fail(error, "unknown unit '" + std::string(unit) +
                           "' (use B, KB, MB, GB, TB, KiB, MiB, GiB or TiB)");
  }

  if (!seen_dot) {
    uint64_t value = 0;
    const auto [ptr, ec] = std::from_chars(number.data(), number.data() + number.size(), value);
    if (ec != std::errc() || ptr != number.data() + number.size()) return fail(error, "too large");
    if (value != 0 && *mult > UINT64_MAX / value) return fail(error, "too large");
    return value * *mult;
  }
  // Decimals: long double holds 64-bit mantissas on x86, enough for exact GiB-scale products.
  long double value = std::strtold(std::string(number).c_str(), nullptr);
  const long double bytes = std::floor(value * static_cast<long double>(*mult));
  if (!(bytes < 18446744073709551616.0L)) return fail(error, "too large");
  return static_cast<uint64_t>(bytes);
}

std::string format_byte_size(uint64_t bytes) {
  static const std::array<std::pair<const char*, int>, 4> kUnits = {
      {{"TiB", 40}, {"GiB", 30}, {"MiB", 20}, {"KiB", 10}}};
  if (bytes != 0) {
    for (const auto& [name, shift] : kUnits) {
      if (bytes % (1ull << shift) == 0) return std::to_string(bytes >> shift) + name;
    }
  }
  return std::to_string(bytes);
}

}  // namespace toolgate::config
