#pragma once
// A time zone read from a compiled TZif file (RFC 8536), e.g. /usr/share/zoneinfo/Asia/Tokyo.
//
// Why not std::chrono::locate_zone: libstdc++ only has the tzdb from GCC 14, and this build
// uses GCC 12. Why not TZ + localtime_r: setenv("TZ") races with every getenv in the process.
// Leap-second ("right/") zones are read as if their transition times were plain UTC.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string_view>
#include <vector>

#include "tools/builtin/posix_tz_rule.h"

namespace toolgate::tools {

class TzifTimeZone {
 public:
  // Throws std::runtime_error if `bytes` is not a well-formed TZif file.
  static TzifTimeZone parse(std::string_view bytes);
  // Throws std::runtime_error if the file cannot be read or parsed.
  static TzifTimeZone load(const std::filesystem::path& file);
  // UTC without a file, for systems that ship no zoneinfo.
  static TzifTimeZone utc();

  LocalTimeType at(std::chrono::sys_seconds t) const;

 private:
  std::vector<std::int64_t> transitions_;       // UTC seconds, ascending
  std::vector<std::uint8_t> transition_types_;  // index into types_, one per transition
  std::vector<LocalTimeType> types_;            // never empty
  std::optional<PosixTzRule> footer_;           // after the last transition
};

}  // namespace toolgate::tools
