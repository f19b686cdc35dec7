#include "gateway/api_key_auth.h"

#include <cctype>

namespace toolgate::gateway {
namespace {

// Compares without an early exit on the first differing byte, so response timing does not
// reveal how much of a guessed key was right.
bool constant_time_equal(std::string_view a, std::string_view b) {
  unsigned diff = static_cast<unsigned>(a.size() ^ b.size());
  for (size_t i = 0; i < a.size(); ++i)
    diff |= static_cast<unsigned char>(a[i]) ^
            static_cast<unsigned char>(b.empty() ? 0 : b[i % b.size()]);
  return diff == 0;
}

}  // namespace

std::optional<ApiError> ApiKeyAuth::check(std::string_view authorization) const {
  if (keys_.empty()) return std::nullopt;
  while (!authorization.empty() && std::isspace(static_cast<unsigned char>(authorization.back())))
    authorization.remove_suffix(1);
  constexpr std::string_view kBearer = "bearer ";
  if (authorization.size() <= kBearer.size()) return ApiError::invalid_api_key(false);
  for (size_t i = 0; i < kBearer.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(authorization[i])) != kBearer[i])
      return ApiError::invalid_api_key(false);
  }
  std::string_view key = authorization.substr(kBearer.size());
  while (!key.empty() && key.front() == ' ') key.remove_prefix(1);
  if (key.empty()) return ApiError::invalid_api_key(false);
  bool ok = false;
  for (const auto& k : keys_) ok |= constant_time_equal(key, k);
  if (!ok) return ApiError::invalid_api_key(true);
  return std::nullopt;
}

}  // namespace toolgate::gateway
