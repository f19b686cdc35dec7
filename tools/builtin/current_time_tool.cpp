#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <stdexcept>

#include "tools/builtin/builtin_tools.h"
#include "tools/builtin/tzif_time_zone.h"

namespace toolgate::tools {
namespace {

using namespace std::chrono;

// IANA names are letters, digits, '_', '-', '+' in '/'-separated parts. Checking this before
// touching the file system keeps "../../etc/passwd" and friends out of the zoneinfo lookup.
bool is_plausible_zone_name(std::string_view name) {
  if (name.empty() || name.size() > 128 || name.front() == '/' || name.back() == '/') {
    return false;
  }
  std::size_t part_start = 0;
  for (std::size_t i = 0; i <= name.size(); ++i) {
    if (i == name.size() || name[i] == '/') {
      const auto part = name.substr(part_start, i - part_start);
      if (part.empty() || part == "." || part == "..") return false;
      part_start = i + 1;
      continue;
    }
    const char c = name[i];
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '-' || c == '+' || c == '.';
    if (!ok) return false;
  }
  return true;
}

std::string format_offset(seconds offset) {
  const char sign = offset < seconds(0) ? '-' : '+';
  // |offset| < 26 h in every TZif file (the type stores it in 32 bits; RFC 8536 limits it).
  const int total = static_cast<int>(std::llabs(offset.count()) % (100 * 3600));
  char buf[32];
  if (total % 60 != 0) {  // only historical local mean times have second offsets
    std::snprintf(buf, sizeof buf, "%c%02d:%02d:%02d", sign, total / 3600, total / 60 % 60,
                  total % 60);
  } else {
    std::snprintf(buf, sizeof buf, "%c%02d:%02d", sign, total / 3600, total / 60 % 60);
  }
  return buf;
}

class CurrentTimeTool final : public Tool {
 public:
  explicit CurrentTimeTool(CurrentTimeOptions options) : options_(std::move(options)) {
    if (options_.zoneinfo_dir.empty()) {
      const char* env = std::getenv("TZDIR");
      options_.zoneinfo_dir = env && *env ? env : "/usr/share/zoneinfo";
    }
    if (!options_.now) options_.now = [] { return system_clock::now(); };
    spec_.name = "current_time";
    spec_.description =
        "Get the current date and time in a time zone, as ISO-8601 local time with its UTC "
        "offset.";
    spec_.parameters = {
        {"type", "object"},
        {"properties",
         {{"timezone",
           {{"type", "string"},
            {"description",
             "IANA time zone name such as \"Europe/Berlin\", \"Asia/Tokyo\" or \"UTC\". "
             "Default: UTC."}}}}},
        {"additionalProperties", false}};
  }

  const ToolSpec& spec() const override { return spec_; }

  nlohmann::json invoke(const nlohmann::json& arguments) override {
    const std::string name = arguments.value("timezone", std::string("UTC"));
    const auto zone = find_zone(name);
    const auto now = floor<seconds>(options_.now());
    const LocalTimeType local = zone->at(now);

    const auto local_time = now + local.utc_offset;
    const auto day = floor<days>(local_time);
    const year_month_day ymd(day);
    const hh_mm_ss hms(local_time - day);
    char stamp[40];
    std::snprintf(stamp, sizeof stamp, "%04d-%02u-%02uT%02d:%02d:%02d",
                  static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                  static_cast<unsigned>(ymd.day()), static_cast<int>(hms.hours().count()),
                  static_cast<int>(hms.minutes().count()), static_cast<int>(hms.seconds().count()));
    static constexpr const char* kWeekdays[] = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                                                "Thursday", "Friday", "Saturday"};
    const std::string offset = format_offset(local.utc_offset);
    return {{"timezone", name},
            {"datetime", std::string(stamp) + offset},
            {"utc_offset", offset},
            {"abbreviation", local.abbreviation},
            {"is_dst", local.is_dst},
            {"weekday", kWeekdays[weekday(day).c_encoding()]},
            {"unix_time", now.time_since_epoch().count()}};
  }

 private:
  std::shared_ptr<const TzifTimeZone> find_zone(const std::string& name) {
    if (!is_plausible_zone_name(name)) throw unknown_zone(name);
    std::lock_guard lock(mu_);
    if (auto it = cache_.find(name); it != cache_.end()) return it->second;
    std::shared_ptr<const TzifTimeZone> zone;
    const auto file = options_.zoneinfo_dir / name;
    std::error_code ec;
    if (std::filesystem::is_regular_file(file, ec)) {
      try {
        zone = std::make_shared<const TzifTimeZone>(TzifTimeZone::load(file));
      } catch (const std::exception& e) {
        throw std::runtime_error("time zone '" + name + "' could not be read: " + e.what());
      }
    } else if (name == "UTC" || name == "Etc/UTC") {
      zone = std::make_shared<const TzifTimeZone>(TzifTimeZone::utc());
    } else {
      throw unknown_zone(name);
    }
    // Only names that resolved to a zone are cached, so the cache stays as small as the tzdb.
    cache_.emplace(name, zone);
    return zone;
  }

  static std::invalid_argument unknown_zone(const std::string& name) {
    return std::invalid_argument("unknown time zone '" + name +
                                 "'; use an IANA name such as \"Europe/Berlin\" or \"UTC\"");
  }

  CurrentTimeOptions options_;
  ToolSpec spec_;
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<const TzifTimeZone>> cache_;
};

}  // namespace

std::unique_ptr<Tool> make_current_time_tool(CurrentTimeOptions options) {
  return std::make_unique<CurrentTimeTool>(std::move(options));
}

}  // namespace toolgate::tools
