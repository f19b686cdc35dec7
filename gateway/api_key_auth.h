#pragma once
// Bearer API keys: the flat `server.api_keys` list and the named keys with policies
// (`server.keys`, key_policy.h). With neither configured the server is open.
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/api_error.h"

namespace toolgate::gateway {

class KeyPolicies;

class ApiKeyAuth {
 public:
  explicit ApiKeyAuth(std::vector<std::string> keys, std::shared_ptr<KeyPolicies> named = {});
  bool open() const;
  // authorization: the Authorization header value ("" when absent).
  std::optional<ApiError> check(std::string_view authorization) const;
  // The named key presented (index into policies()), or nullopt for a flat key, no key or a
  // wrong one. Call after check() passed.
  std::optional<size_t> named_key(std::string_view authorization) const;
  KeyPolicies* policies() const { return named_.get(); }

 private:
  std::vector<std::string> keys_;
  std::shared_ptr<KeyPolicies> named_;  // shared by copies: the limits' state is one
};

}  // namespace toolgate::gateway
