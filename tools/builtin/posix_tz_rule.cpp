#include "tools/builtin/posix_tz_rule.h"

#include <cctype>

namespace toolgate::tools {
namespace {

using std::chrono::seconds;

class Cursor {
 public:
  explicit Cursor(std::string_view s) : s_(s) {}
  bool done() const { return i_ == s_.size(); }
  char peek() const { return done() ? '\0' : s_[i_]; }
  bool accept(char c) {
    if (peek() != c) return false;
    ++i_;
    return true;
  }

  // A zone abbreviation: 3+ letters, or <...> holding letters, digits, '+' and '-'.
  std::optional<std::string> name() {
    std::string out;
    if (accept('<')) {
      while (!done() && peek() != '>') {
        const char c = s_[i_++];
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '+' && c != '-') return {};
        out += c;
      }
      if (!accept('>')) return {};
    } else {
      while (std::isalpha(static_cast<unsigned char>(peek()))) out += s_[i_++];
    }
    if (out.size() < 3) return {};
    return out;
  }

  std::optional<int> integer(int max) {
    if (!std::isdigit(static_cast<unsigned char>(peek()))) return {};
    int v = 0;
    while (std::isdigit(static_cast<unsigned char>(peek()))) {
      v = v * 10 + (s_[i_++] - '0');
      if (v > max) return {};
    }
    return v;
  }

  // [+-]hh[:mm[:ss]]
  std::optional<seconds> duration(int max_hours) {
    int sign = 1;
    if (accept('-')) {
      sign = -1;
    } else {
      accept('+');
    }
    auto h = integer(max_hours);
    if (!h) return {};
    long total = *h * 3600L;
    if (accept(':')) {
      auto m = integer(59);
      if (!m) return {};
      total += *m * 60L;
      if (accept(':')) {
        auto sec = integer(59);
        if (!sec) return {};
        total += *sec;
      }
    }
    return seconds(sign * total);
  }

 private:
  std::string_view s_;
  std::size_t i_ = 0;
};

}  // namespace

std::optional<PosixTzRule> PosixTzRule::parse(std::string_view tz) {
  Cursor c(tz);
  PosixTzRule rule;
  auto std_name = c.name();
  auto std_offset = c.duration(24);
  if (!std_name || !std_offset) return {};
  // POSIX offsets count hours *west* of Greenwich.
  rule.standard_ = {-*std_offset, false, *std_name};
  if (c.done()) return rule;

  auto dst_name = c.name();
  if (!dst_name) return {};
  LocalTimeType daylight{rule.standard_.utc_offset + seconds(3600), true, *dst_name};
  if (c.peek() != ',' && !c.done()) {
    auto dst_offset = c.duration(24);
    if (!dst_offset) return {};
    daylight.utc_offset = -*dst_offset;
  }
  rule.daylight_ = daylight;

  auto date = [&](DateRule& d) -> bool {
    if (c.accept('M')) {
      auto m = c.integer(12);
      if (!m || *m < 1 || !c.accept('.')) return false;
      auto w = c.integer(5);
      if (!w || *w < 1 || !c.accept('.')) return false;
      auto wd = c.integer(6);
      if (!wd) return false;
      d.kind = DateRule::Kind::kMonthWeekDay;
      d.month = *m;
      d.week = *w;
      d.weekday = *wd;
    } else if (c.accept('J')) {
      auto n = c.integer(365);
      if (!n || *n < 1) return false;
      d.kind = DateRule::Kind::kJulianNoLeap;
      d.day = *n;
    } else {
      auto n = c.integer(365);
      if (!n) return false;
      d.kind = DateRule::Kind::kZeroBasedDay;
      d.day = *n;
    }
    if (c.accept('/')) {
      auto t = c.duration(167);
      if (!t) return false;
      d.time = *t;
    }
    return true;
  };
  if (c.done()) {
    // No rule given: POSIX leaves it to the implementation; use the current US rule as glibc.
    rule.dst_start_ = {DateRule::Kind::kMonthWeekDay, 3, 2, 0, 0, seconds(7200)};
    rule.dst_end_ = {DateRule::Kind::kMonthWeekDay, 11, 1, 0, 0, seconds(7200)};
    return rule;
  }
  if (!c.accept(',') || !date(rule.dst_start_) || !c.accept(',') || !date(rule.dst_end_) ||
      !c.done()) {
    return {};
  }
  return rule;
}

std::chrono::sys_days PosixTzRule::resolve(const DateRule& rule, std::chrono::year year) {
  using namespace std::chrono;
  const sys_days jan1{year / January / 1};
  switch (rule.kind) {
    case DateRule::Kind::kJulianNoLeap:
      return jan1 + days(rule.day - 1 + (year.is_leap() && rule.day >= 60 ? 1 : 0));
    case DateRule::Kind::kZeroBasedDay:
      return jan1 + days(rule.day);
    case DateRule::Kind::kMonthWeekDay:
      break;
  }
  const auto ym = year / month(static_cast<unsigned>(rule.month));
  const sys_days first{ym / 1};
  const sys_days last{ym / std::chrono::last};
  const int first_wd = static_cast<int>(weekday(first).c_encoding());
  sys_days d = first + days((rule.weekday - first_wd + 7) % 7 + 7 * (rule.week - 1));
  while (d > last) d -= days(7);  // week 5 means "last"
  return d;
}

LocalTimeType PosixTzRule::at(std::chrono::sys_seconds t) const {
  using namespace std::chrono;
  if (!daylight_) return standard_;
  const year y = year_month_day(floor<days>(t + standard_.utc_offset)).year();
  // The start is given in standard local time, the end in daylight local time.
  const sys_seconds start =
      sys_seconds(resolve(dst_start_, y)) + dst_start_.time - standard_.utc_offset;
  const sys_seconds end = sys_seconds(resolve(dst_end_, y)) + dst_end_.time - daylight_->utc_offset;
  const bool dst = start < end ? (t >= start && t < end)   // northern hemisphere
                               : (t >= start || t < end);  // southern: DST spans new year
  return dst ? *daylight_ : standard_;
}

}  // namespace toolgate::tools
