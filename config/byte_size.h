#pragma once
// Byte sizes as people write them in config files: "512MiB", "1GB", "1.5 GiB", "4096".
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace toolgate::config {

// Accepts a non-negative number (decimals allowed) with an optional unit, case-insensitive,
// spaces allowed between number and unit:
//   B; KB MB GB TB (powers of 1000); KiB MiB GiB TiB and K M G T (powers of 1024).
// Fractional results are rounded down to whole bytes. On failure returns nullopt and, if
// `error` is given, stores why ("unknown unit 'XB'", "too large", ...).
std::optional<uint64_t> parse_byte_size(std::string_view text, std::string* error = nullptr);

// The shortest exact spelling: "512MiB" for 536870912, "1000" for 1000. parse_byte_size
// reads it back to the same value.
std::string format_byte_size(uint64_t bytes);

}  // namespace toolgate::config
