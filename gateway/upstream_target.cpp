#include "gateway/upstream_target.h"

#include <charconv>

namespace toolgate::gateway {

std::string UpstreamUrl::host_header() const {
  // Appends piece by piece: `"[" + host + "]"` and `":" + to_string(port)` trip GCC 12's
  // -Wrestrict false positive at -O3.
  std::string h;
  if (host.find(':') != std::string::npos) {
    h += '[';
    h += host;
    h += ']';
  } else {
    h = host;
  }
  const bool default_port = (scheme == "http" && port == 80) || (scheme == "https" && port == 443);
  if (!default_port) {
    h += ':';
    h += std::to_string(port);
  }
  return h;
}

std::string UpstreamUrl::target(std::string_view endpoint) const {
  return path_prefix + std::string(endpoint);
}

std::optional<UpstreamUrl> parse_upstream_url(std::string_view url, std::string* error) {
  auto fail = [&](std::string why) -> std::optional<UpstreamUrl> {
    if (error) *error = "invalid upstream URL '" + std::string(url) + "': " + std::move(why);
    return std::nullopt;
  };
  UpstreamUrl u;
  std::string_view rest;
  if (url.rfind("http://", 0) == 0) {
    u.scheme = "http";
    rest = url.substr(7);
  } else if (url.rfind("https://", 0) == 0) {
    u.scheme = "https";
    rest = url.substr(8);
  } else {
    return fail("expected http:// or https://");
  }
  if (rest.find_first_of("?#") != std::string_view::npos)
    return fail("a query or fragment is not allowed");
  size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? "" : rest.substr(slash);
  if (authority.find('@') != std::string_view::npos)
    return fail("user info is not allowed (put the key in api_key)");

  std::string_view host = authority;
  std::string_view port;
  if (!authority.empty() && authority.front() == '[') {  // [IPv6]:port
    size_t close = authority.find(']');
    if (close == std::string_view::npos) return fail("unclosed '[' in the host");
    host = authority.substr(1, close - 1);
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return fail("unexpected text after ']'");
      port = after.substr(1);
      if (port.empty()) return fail("empty port");
    }
  } else if (size_t colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
    if (port.empty()) return fail("empty port");
  }
  if (host.empty()) return fail("no host");
  u.host = std::string(host);
  if (port.empty()) {
    u.port = u.scheme == "https" ? 443 : 80;
  } else {
    unsigned value = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc() || end != port.data() + port.size() || value == 0 || value > 65535)
      return fail("bad port '" + std::string(port) + "'");
    u.port = static_cast<uint16_t>(value);
  }
  std::string p(path);
  while (!p.empty() && p.back() == '/') p.pop_back();
  u.path_prefix = std::move(p);
  return u;
}

}  // namespace toolgate::gateway
