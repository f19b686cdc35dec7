#pragma once
// POSIX TZ strings ("EST5EDT,M3.2.0,M11.1.0"), as found in the footer of TZif v2+ files.
// They give local time after a zone's last listed transition (RFC 8536 section 3.3).
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace toolgate::tools {

struct LocalTimeType {
  std::chrono::seconds utc_offset{0};  // east of Greenwich is positive
  bool is_dst = false;
  std::string abbreviation;
};

class PosixTzRule {
 public:
  // nullopt if `tz` is not a valid POSIX TZ string (RFC 8536 extensions included: hours up to
  // 167 in transition times, negative times).
  static std::optional<PosixTzRule> parse(std::string_view tz);

  LocalTimeType at(std::chrono::sys_seconds t) const;

 private:
  // Mm.w.d (month, week 1-5 where 5 = last, weekday 0 = Sunday), Jn (1-365, no Feb 29)
  // or n (0-365, counting Feb 29).
  struct DateRule {
    enum class Kind { kMonthWeekDay, kJulianNoLeap, kZeroBasedDay } kind = Kind::kMonthWeekDay;
    int month = 0, week = 0, weekday = 0, day = 0;
    std::chrono::seconds time{7200};  // local time of day of the change; default 02:00
  };
  static std::chrono::sys_days resolve(const DateRule& rule, std::chrono::year year);

  LocalTimeType standard_;
  std::optional<LocalTimeType> daylight_;
  DateRule dst_start_, dst_end_;
};

}  // namespace toolgate::tools
