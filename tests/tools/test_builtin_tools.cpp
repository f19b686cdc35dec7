#include <gtest/gtest.h>

#include "tools/builtin/builtin_tools.h"
#include "tools/tool_registry.h"

namespace toolgate::tools {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using namespace std::chrono;

constexpr milliseconds kTimeout{2000};

ToolRegistry& builtins() {
  static ToolRegistry* registry = [] {
    auto* r = new ToolRegistry;
    register_builtin_tools(*r, {});
    return r;
  }();
  return *registry;
}

TEST(CalculatorTool, EvaluatesExpressionToIntegerWhenWhole) {
  const auto r = builtins().invoke("calculator", R"({"expression": "(3+5)*2"})", kTimeout);
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.value, json({{"result", 16}}));
  EXPECT_EQ(r.as_content(), R"({"result":16})");
}

TEST(CalculatorTool, FractionalResultStaysANumber) {
  const auto r = builtins().invoke("calculator", json{{"expression", "7/2"}}, kTimeout);
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.value["result"], 3.5);
}

TEST(CalculatorTool, EvaluationErrorsAreErrorResults) {
  const auto r = builtins().invoke("calculator", json{{"expression", "1/0"}}, kTimeout);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.error, "tool 'calculator' failed: division by zero at position 2");
  EXPECT_EQ(r.as_content(),
            R"({"error":"tool 'calculator' failed: division by zero at position 2"})");
}

TEST(CalculatorTool, TooLongExpressionIsRejectedBySchema) {
  const auto r =
      builtins().invoke("calculator", json{{"expression", std::string(1001, '1')}}, kTimeout);
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.error.find("/expression: must be at most 1000 characters long"), std::string::npos)
      << r.error;
}

TEST(AddTool, AddsIntegersExactly) {
  const auto r = builtins().invoke("add", R"({"a": 2, "b": 40})", kTimeout);
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.as_content(), R"({"result":42})");
  const auto big = builtins().invoke("add", json{{"a", 9007199254740993LL}, {"b", 1}}, kTimeout);
  EXPECT_EQ(big.value["result"], 9007199254740994LL);  // beyond 2^53: still exact
}

TEST(AddTool, AddsDecimals) {
  const auto r = builtins().invoke("add", R"({"a": 0.5, "b": 0.25})", kTimeout);
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.value["result"], 0.75);
}

TEST(AddTool, IntegerOverflowFallsBackToDouble) {
  const auto r = builtins().invoke("add", json{{"a", INT64_MAX}, {"b", INT64_MAX}}, kTimeout);
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_DOUBLE_EQ(r.value["result"].get<double>(), 2.0 * static_cast<double>(INT64_MAX));
}

TEST(AddTool, RejectsNonNumbers) {
  const auto r = builtins().invoke("add", R"({"a": "2", "b": 3})", kTimeout);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.error, "tool 'add': invalid arguments: /a: expected number, got string");
}

TEST(MulTool, Multiplies) {
  EXPECT_EQ(builtins().invoke("mul", R"({"a": 6, "b": 7})", kTimeout).as_content(),
            R"({"result":42})");
  EXPECT_EQ(builtins().invoke("mul", R"({"a": 1.5, "b": 3})", kTimeout).value["result"], 4.5);
}

TEST(MulTool, DoubleOverflowIsAnError) {
  const auto r = builtins().invoke("mul", R"({"a": 1e300, "b": 1e300})", kTimeout);
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.error.find("not a finite number"), std::string::npos) << r.error;
}

TEST(RegisterBuiltinTools, EmptyListRegistersAllInOrder) {
  ToolRegistry registry;
  register_builtin_tools(registry, {});
  std::vector<std::string> names;
  for (const auto* spec : registry.list()) names.push_back(spec->name);
  EXPECT_EQ(names, (std::vector<std::string>{"calculator", "add", "mul", "current_time"}));
}

TEST(RegisterBuiltinTools, RegistersOnlyTheEnabledOnes) {
  ToolRegistry registry;
  register_builtin_tools(registry, {"mul", "add"});
  EXPECT_EQ(registry.list().size(), 2u);
  EXPECT_TRUE(registry.contains("add"));
  EXPECT_TRUE(registry.contains("mul"));
  EXPECT_FALSE(registry.contains("calculator"));
}

TEST(RegisterBuiltinTools, UnknownNameThrowsAndAddsNothing) {
  ToolRegistry registry;
  EXPECT_THROW(
      {
        try {
          register_builtin_tools(registry, {"add", "shell"});
        } catch (const std::invalid_argument& e) {
          EXPECT_STREQ(e.what(),
                       "unknown built-in tool 'shell' (known: calculator, add, mul, current_time)");
          throw;
        }
      },
      std::invalid_argument);
  EXPECT_TRUE(registry.list().empty());
}

// 2024-07-01T12:34:56Z, a Monday.
const sys_seconds kFixedNow = sys_days(2024y / July / 1) + 12h + 34min + 56s;

ToolRegistry& clock_pinned() {
  static ToolRegistry* registry = [] {
    auto* r = new ToolRegistry;
    r->add(make_current_time_tool({.zoneinfo_dir = {}, .now = [] { return kFixedNow; }}));
    return r;
  }();
  return *registry;
}

TEST(CurrentTimeTool, Utc) {
  const auto r = clock_pinned().invoke("current_time", R"({"timezone":"UTC"})", kTimeout);
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.value["datetime"], "2024-07-01T12:34:56+00:00");
  EXPECT_EQ(r.value["utc_offset"], "+00:00");
  EXPECT_EQ(r.value["timezone"], "UTC");
  EXPECT_EQ(r.value["weekday"], "Monday");
  EXPECT_EQ(r.value["is_dst"], false);
  EXPECT_EQ(r.value["unix_time"], 1719837296);
}

TEST(CurrentTimeTool, DefaultsToUtc) {
  const auto r = clock_pinned().invoke("current_time", "", kTimeout);
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.value["datetime"], "2024-07-01T12:34:56+00:00");
}

TEST(CurrentTimeTool, TokyoIsNineHoursAhead) {
  const auto r = clock_pinned().invoke("current_time", R"({"timezone":"Asia/Tokyo"})", kTimeout);
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.value["datetime"], "2024-07-01T21:34:56+09:00");
  EXPECT_EQ(r.value["utc_offset"], "+09:00");
  EXPECT_EQ(r.value["abbreviation"], "JST");
  EXPECT_EQ(r.value["timezone"], "Asia/Tokyo");
}

TEST(CurrentTimeTool, NewYorkInSummerIsOnDaylightTime) {
  const auto r =
      clock_pinned().invoke("current_time", R"({"timezone":"America/New_York"})", kTimeout);
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.value["datetime"], "2024-07-01T08:34:56-04:00");
  EXPECT_EQ(r.value["abbreviation"], "EDT");
  EXPECT_EQ(r.value["is_dst"], true);
}

TEST(CurrentTimeTool, HalfHourOffsetAndDateChange) {
  const auto r = clock_pinned().invoke("current_time", R"({"timezone":"Asia/Kolkata"})", kTimeout);
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.value["datetime"], "2024-07-01T18:04:56+05:30");
  const auto kiritimati =
      clock_pinned().invoke("current_time", R"({"timezone":"Pacific/Kiritimati"})", kTimeout);
  ASSERT_TRUE(kiritimati.ok) << kiritimati.error;
  EXPECT_EQ(kiritimati.value["datetime"], "2024-07-02T02:34:56+14:00");
  EXPECT_EQ(kiritimati.value["weekday"], "Tuesday");
}

TEST(CurrentTimeTool, UnknownZoneIsAnError) {
  const auto r = clock_pinned().invoke("current_time", R"({"timezone":"Mars/Olympus"})", kTimeout);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.error,
            "tool 'current_time' failed: unknown time zone 'Mars/Olympus'; use an IANA name such "
            "as \"Europe/Berlin\" or \"UTC\"");
}

TEST(CurrentTimeTool, PathsOutsideZoneinfoAreUnknownZones) {
  for (const char* name :
       {"../../../etc/passwd", "/etc/passwd", "Asia/../../etc/passwd", "", "Asia", "Asia/"}) {
    const auto r = clock_pinned().invoke("current_time", json{{"timezone", name}}, kTimeout);
    EXPECT_FALSE(r.ok) << name;
  }
}

TEST(CurrentTimeTool, RealClockIsClose) {
  ToolRegistry registry;
  registry.add(make_current_time_tool());
  const auto r = registry.invoke("current_time", R"({"timezone":"Europe/Berlin"})", kTimeout);
  ASSERT_TRUE(r.ok) << r.error;
  const auto now = duration_cast<seconds>(system_clock::now().time_since_epoch()).count();
  EXPECT_NEAR(r.value["unix_time"].get<double>(), static_cast<double>(now), 5);
  const std::string offset = r.value["utc_offset"];
  EXPECT_TRUE(offset == "+01:00" || offset == "+02:00") << offset;
}

}  // namespace
}  // namespace toolgate::tools
