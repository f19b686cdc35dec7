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

ApiKeyAuth::ApiKeyAuth(std::vector<std::string> keys, std::shared_ptr<KeyPolicies> named) {
  replace(std::move(keys), std::move(named));
}

void ApiKeyAuth::replace(std::vector<std::string> keys, std::shared_ptr<KeyPolicies> named) const {
  auto state = std::make_shared<State>();
  state->keys = std::move(keys);
  if (named && !named->empty()) state->named = std::move(named);
  std::lock_guard lock(shared_->mu);
  shared_->state = std::move(state);
}

std::shared_ptr<const ApiKeyAuth::State> ApiKeyAuth::snapshot() const {
  std::lock_guard lock(shared_->mu);
  return shared_->state;
}

bool ApiKeyAuth::open() const {
  auto s = snapshot();
  return s->keys.empty() && !s->named;
}

std::optional<ApiError> ApiKeyAuth::check(std::string_view authorization) const {
  auto s = snapshot();
  if (s->keys.empty() && !s->named) return std::nullopt;
  auto key = bearer_token(authorization);
  if (!key) return ApiError::invalid_api_key(false);
  bool ok = false;
  for (const auto& k : s->keys) ok |= constant_time_equal(*key, k);
  if (s->named) ok |= s->named->find(*key).has_value();
  if (!ok) return ApiError::invalid_api_key(true);
  return std::nullopt;
}

ApiKeyAuth::Named ApiKeyAuth::identify(std::string_view authorization) const {
  auto s = snapshot();
  Named n{s->named, std::nullopt};
  if (!s->named) return n;
  if (auto key = bearer_token(authorization)) n.key = s->named->find(*key);
  return n;
}

std::shared_ptr<KeyPolicies> ApiKeyAuth::policies() const { return snapshot()->named; }

}  // namespace toolgate::gateway
