#include "tools/builtin/tzif_time_zone.h"

#include <algorithm>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>

namespace toolgate::tools {
namespace {

constexpr std::size_t kMaxTzifBytes = 1 << 20;  // real files are < 4 KiB

// Big-endian reader that throws on truncation instead of reading past the end.
class ByteReader {
 public:
  explicit ByteReader(std::string_view bytes) : b_(bytes) {}
  std::size_t pos() const { return pos_; }
  std::string_view rest() const { return b_.substr(pos_); }

  std::string_view take(std::size_t n) {
    if (n > b_.size() - pos_) throw std::runtime_error("TZif data is truncated");
    auto out = b_.substr(pos_, n);
    pos_ += n;
    return out;
  }
  std::uint8_t u8() { return static_cast<std::uint8_t>(take(1)[0]); }
  std::uint32_t u32() {
    std::uint32_t v = 0;
    for (char c : take(4)) v = (v << 8) | static_cast<std::uint8_t>(c);
    return v;
  }
  std::int64_t i64() {
    std::uint64_t v = 0;
    for (char c : take(8)) v = (v << 8) | static_cast<std::uint8_t>(c);
    return static_cast<std::int64_t>(v);
  }

 private:
  std::string_view b_;
  std::size_t pos_ = 0;
};

struct Header {
  char version = 0;
  std::uint32_t isutcnt = 0, isstdcnt = 0, leapcnt = 0, timecnt = 0, typecnt = 0, charcnt = 0;
};

Header read_header(ByteReader& r) {
  if (r.take(4) != "TZif") throw std::runtime_error("not a TZif file (bad magic)");
  Header h;
  h.version = static_cast<char>(r.u8());
  r.take(15);
  h.isutcnt = r.u32();
  h.isstdcnt = r.u32();
  h.leapcnt = r.u32();
  h.timecnt = r.u32();
  h.typecnt = r.u32();
  h.charcnt = r.u32();
  if (h.typecnt == 0) throw std::runtime_error("TZif file has no local time types");
  return h;
}

}  // namespace

TzifTimeZone TzifTimeZone::parse(std::string_view bytes) {
  ByteReader r(bytes);
  Header h = read_header(r);
  int time_size = 4;
  if (h.version >= '2') {
    // Skip the v1 block; the v2 block after it has 64-bit times and is authoritative.
    r.take(std::size_t{h.timecnt} * 5 + std::size_t{h.typecnt} * 6 + h.charcnt +
           std::size_t{h.leapcnt} * 8 + h.isstdcnt + h.isutcnt);
    h = read_header(r);
    time_size = 8;
  }

  TzifTimeZone zone;
  zone.transitions_.reserve(h.timecnt);
  for (std::uint32_t i = 0; i < h.timecnt; ++i) {
    zone.transitions_.push_back(time_size == 8 ? r.i64() : static_cast<std::int32_t>(r.u32()));
  }
  if (!std::is_sorted(zone.transitions_.begin(), zone.transitions_.end())) {
    throw std::runtime_error("TZif transitions are not in ascending order");
  }
  for (std::uint32_t i = 0; i < h.timecnt; ++i) {
    const std::uint8_t type = r.u8();
    if (type >= h.typecnt) throw std::runtime_error("TZif transition names a missing type");
    zone.transition_types_.push_back(type);
  }
  struct RawType {
    std::int32_t utoff;
    bool isdst;
    std::uint8_t abbr_index;
  };
  std::vector<RawType> raw;
  for (std::uint32_t i = 0; i < h.typecnt; ++i) {
    const auto utoff = static_cast<std::int32_t>(r.u32());
    const bool isdst = r.u8() != 0;
    raw.push_back({utoff, isdst, r.u8()});
  }
  const std::string_view chars = r.take(h.charcnt);
  for (const auto& t : raw) {
    if (t.abbr_index >= chars.size()) throw std::runtime_error("TZif abbreviation out of range");
    const auto abbr = chars.substr(t.abbr_index);
    zone.types_.push_back(
        {std::chrono::seconds(t.utoff), t.isdst, std::string(abbr.substr(0, abbr.find('\0')))});
  }
  r.take(std::size_t{h.leapcnt} * (time_size + 4) + h.isstdcnt + h.isutcnt);

  if (time_size == 8) {
    // Footer: "\n" POSIX-TZ "\n"; an empty TZ string means "no rule".
    std::string_view rest = r.rest();
    if (rest.size() >= 2 && rest[0] == '\n') {
      const auto end = rest.find('\n', 1);
      if (end != std::string_view::npos && end > 1) {
        zone.footer_ = PosixTzRule::parse(rest.substr(1, end - 1));
        if (!zone.footer_) throw std::runtime_error("TZif footer is not a valid TZ string");
      }
    }
  }
  return zone;
}

TzifTimeZone TzifTimeZone::load(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + file.string());
  std::string bytes;
  bytes.resize(kMaxTzifBytes + 1);
  in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  bytes.resize(static_cast<std::size_t>(in.gcount()));
  if (bytes.size() > kMaxTzifBytes) throw std::runtime_error(file.string() + " is too large");
  return parse(bytes);
}

TzifTimeZone TzifTimeZone::utc() {
  TzifTimeZone zone;
  zone.types_.push_back({std::chrono::seconds(0), false, "UTC"});
  return zone;
}

LocalTimeType TzifTimeZone::at(std::chrono::sys_seconds t) const {
  const std::int64_t s = t.time_since_epoch().count();
  if (transitions_.empty() || s >= transitions_.back()) {
    if (footer_) return footer_->at(t);
    if (transitions_.empty()) return types_.front();
    return types_[transition_types_.back()];
  }
  // RFC 8536 3.2: before the first transition, local time type 0 applies.
  if (s < transitions_.front()) return types_.front();
  const auto it = std::upper_bound(transitions_.begin(), transitions_.end(), s);
  return types_[transition_types_[static_cast<std::size_t>(it - transitions_.begin()) - 1]];
}

}  // namespace toolgate::tools
