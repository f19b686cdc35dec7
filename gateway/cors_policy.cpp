#include "gateway/cors_policy.h"

#include <algorithm>

namespace toolgate::gateway {

CorsPolicy::CorsPolicy(std::vector<std::string> allowed_origins)
    : origins_(std::move(allowed_origins)) {
  any_ = std::find(origins_.begin(), origins_.end(), "*") != origins_.end();
}

bool CorsPolicy::allows(std::string_view origin) const {
  if (origin.empty()) return false;
  return any_ || std::find(origins_.begin(), origins_.end(), origin) != origins_.end();
}

HttpHeaders CorsPolicy::response_headers(std::string_view origin) const {
  HttpHeaders h;
  if (!allows(origin)) return h;
  // Echo the origin rather than "*": browsers refuse "*" on credentialed requests.
  h.emplace_back("Access-Control-Allow-Origin", std::string(origin));
  h.emplace_back("Vary", "Origin");
  h.emplace_back("Access-Control-Expose-Headers", "x-request-id, retry-after");
  return h;
}

HttpResponse CorsPolicy::preflight(const HttpRequest& request) const {
  HttpResponse r;
  r.status = 204;
  r.headers.emplace_back("Allow", "GET, POST, OPTIONS");
  auto origin = request.header("Origin");
  if (!allows(origin)) return r;
  for (auto& h : response_headers(origin)) r.headers.push_back(std::move(h));
  r.headers.emplace_back("Access-Control-Allow-Methods", "GET, POST, OPTIONS");
  auto requested = request.header("Access-Control-Request-Headers");
  r.headers.emplace_back(
      "Access-Control-Allow-Headers",
      requested.empty() ? std::string("Authorization, Content-Type") : std::string(requested));
  r.headers.emplace_back("Access-Control-Max-Age", "600");
  return r;
}

}  // namespace toolgate::gateway
