#include "gateway/api_key_auth.h"

#include <cctype>

#include "gateway/key_policy.h"

namespace toolgate::gateway {
namespace {

// The token of "Bearer <token>" (any case, surrounding spaces trimmed); nullopt without one.
std::optional<std::string_view> bearer_token(std::string_view authorization) {
  while (!authorization.empty() && std::isspace(static_cast<unsigned char>(authorization.back())))
    authorization.remove_suffix(1);
  constexpr std::string_view kBearer = "bearer ";
  if (authorization.size() <= kBearer.size()) return std::nullopt;
  for (size_t i = 0; i < kBearer.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(authorization[i])) != kBearer[i])
      return std::nullopt;
  }
  std::string_view key = authorization.substr(kBearer.size());
  while (!key.empty() && key.front() == ' ') key.remove_prefix(1);
  if (key.empty()) return std::nullopt;
  return key;
}

}  // namespace

ApiKeyAuth::ApiKeyAuth(std::vector<std::string> keys, std::shared_ptr<KeyPolicies> named)
    : keys_(std::move(keys)), named_(named && !named->empty() ? std::move(named) : nullptr) {}

bool ApiKeyAuth::open() const { return keys_.empty() && !named_; }

std::optional<ApiError> ApiKeyAuth::check(std::string_view authorization) const {
  if (open()) return std::nullopt;
  auto key = bearer_token(authorization);
  if (!key) return ApiError::invalid_api_key(false);
  bool ok = false;
  for (const auto& k : keys_) ok |= constant_time_equal(*key, k);
  if (named_) ok |= named_->find(*key).has_value();
  if (!ok) return ApiError::invalid_api_key(true);
  return std::nullopt;
}

std::optional<size_t> ApiKeyAuth::named_key(std::string_view authorization) const {
  if (!named_) return std::nullopt;
  auto key = bearer_token(authorization);
  if (!key) return std::nullopt;
  return named_->find(*key);
}

}  // namespace toolgate::gateway
