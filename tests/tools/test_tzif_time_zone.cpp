#include <gtest/gtest.h>

#include <filesystem>

#include "tools/builtin/posix_tz_rule.h"
#include "tools/builtin/tzif_time_zone.h"

namespace toolgate::tools {
namespace {

using namespace std::chrono;

const std::filesystem::path kZoneinfo = "/usr/share/zoneinfo";

sys_seconds utc(year_month_day d, hours h = 0h, minutes m = 0min) { return sys_days(d) + h + m; }

TEST(PosixTzRule, FixedOffsetWithoutDaylightTime) {
  auto rule = PosixTzRule::parse("JST-9");
  ASSERT_TRUE(rule);
  const auto t = rule->at(utc(2024y / 1 / 1));
  EXPECT_EQ(t.utc_offset, 9h);
  EXPECT_EQ(t.abbreviation, "JST");
  EXPECT_FALSE(t.is_dst);
}

TEST(PosixTzRule, QuotedNamesAndMinutes) {
  auto rule = PosixTzRule::parse("<+0530>-5:30");
  ASSERT_TRUE(rule);
  EXPECT_EQ(rule->at(utc(2024y / 1 / 1)).utc_offset, 5h + 30min);
  EXPECT_EQ(rule->at(utc(2024y / 1 / 1)).abbreviation, "+0530");
}

TEST(PosixTzRule, UsRulesSwitchAtTwoAmLocal) {
  auto rule = PosixTzRule::parse("EST5EDT,M3.2.0,M11.1.0");
  ASSERT_TRUE(rule);
  // 2030: DST from Sunday 10 March 02:00 EST (07:00Z) to Sunday 3 November 02:00 EDT (06:00Z).
  EXPECT_FALSE(rule->at(utc(2030y / 3 / 10, 6h, 59min)).is_dst);
  EXPECT_TRUE(rule->at(utc(2030y / 3 / 10, 7h)).is_dst);
  EXPECT_EQ(rule->at(utc(2030y / 3 / 10, 7h)).utc_offset, -4h);
  EXPECT_TRUE(rule->at(utc(2030y / 11 / 3, 5h, 59min)).is_dst);
  EXPECT_FALSE(rule->at(utc(2030y / 11 / 3, 6h)).is_dst);
  EXPECT_EQ(rule->at(utc(2030y / 12 / 1)).abbreviation, "EST");
}

TEST(PosixTzRule, SouthernHemisphereDaylightTimeSpansNewYear) {
  auto rule = PosixTzRule::parse("AEST-10AEDT,M10.1.0,M4.1.0/3");
  ASSERT_TRUE(rule);
  EXPECT_TRUE(rule->at(utc(2030y / 1 / 15)).is_dst);
  EXPECT_EQ(rule->at(utc(2030y / 1 / 15)).utc_offset, 11h);
  EXPECT_FALSE(rule->at(utc(2030y / 7 / 15)).is_dst);
  EXPECT_TRUE(rule->at(utc(2030y / 12 / 15)).is_dst);
}

TEST(PosixTzRule, JulianDayRules) {
  // J60 is 1 March even in leap years; 59 (zero-based) is 29 February in leap years.
  auto no_leap = PosixTzRule::parse("AAA0BBB,J60/0,J300/0");
  ASSERT_TRUE(no_leap);
  EXPECT_FALSE(no_leap->at(utc(2028y / 2 / 29, 23h)).is_dst);
  EXPECT_TRUE(no_leap->at(utc(2028y / 3 / 1, 0h)).is_dst);
  auto zero_based = PosixTzRule::parse("AAA0BBB,59/0,300/0");
  ASSERT_TRUE(zero_based);
  EXPECT_TRUE(zero_based->at(utc(2028y / 2 / 29, 0h)).is_dst);
}

TEST(PosixTzRule, RejectsMalformedStrings) {
  for (const char* bad : {"", "X5", "EST", "EST5EDT,M13.1.0,M11.1.0", "EST5EDT,M3.2.0",
                          "EST5EDT,M3.2.0,M11.1.0junk", "<AB-5"}) {
    EXPECT_FALSE(PosixTzRule::parse(bad)) << bad;
  }
}

TEST(TzifTimeZone, ReadsHistoricalTransitions) {
  const auto ny = TzifTimeZone::load(kZoneinfo / "America/New_York");
  EXPECT_EQ(ny.at(utc(2024y / 1 / 15)).utc_offset, -5h);
  EXPECT_EQ(ny.at(utc(2024y / 7 / 15)).utc_offset, -4h);
  EXPECT_EQ(ny.at(utc(2024y / 7 / 15)).abbreviation, "EDT");
  // 1944: war time all year.
  EXPECT_EQ(ny.at(utc(1944y / 1 / 15)).abbreviation, "EWT");
}

TEST(TzifTimeZone, UsesFooterRuleAfterLastTransition) {
  const auto ny = TzifTimeZone::load(kZoneinfo / "America/New_York");
  EXPECT_EQ(ny.at(utc(2100y / 7 / 15)).abbreviation, "EDT");
  EXPECT_EQ(ny.at(utc(2100y / 12 / 15)).abbreviation, "EST");
  const auto sydney = TzifTimeZone::load(kZoneinfo / "Australia/Sydney");
  EXPECT_EQ(sydney.at(utc(2100y / 1 / 15)).utc_offset, 11h);
  EXPECT_EQ(sydney.at(utc(2100y / 7 / 15)).utc_offset, 10h);
}

TEST(TzifTimeZone, RejectsFilesThatAreNotTzif) {
  EXPECT_THROW(TzifTimeZone::parse("not a zone file at all, clearly"), std::runtime_error);
  EXPECT_THROW(TzifTimeZone::parse("TZif2"), std::runtime_error);  // truncated header
  EXPECT_THROW(TzifTimeZone::load(kZoneinfo / "does/not/exist"), std::runtime_error);
}

TEST(TzifTimeZone, RejectsTruncatedData) {
  std::string header = "TZif2";
  header += std::string(15, '\0');
  // isutcnt isstdcnt leapcnt timecnt=1 typecnt=1 charcnt=4, but no data follows.
  for (uint32_t v : {0u, 0u, 0u, 1u, 1u, 4u}) {
    for (int shift = 24; shift >= 0; shift -= 8) header += static_cast<char>((v >> shift) & 0xFF);
  }
  EXPECT_THROW(TzifTimeZone::parse(header), std::runtime_error);
}

}  // namespace
}  // namespace toolgate::tools
