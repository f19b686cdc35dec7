#pragma once
// Bearer API keys: the flat `server.api_keys` list and the named keys with policies
// (`server.keys`, key_policy.h). With neither configured the server is open.
//
// Copies share one state, which replace() swaps at once for all of them (a config reload);
// a request works on the snapshot it took.
#include <memory>
#include <mutex>
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
  void replace(std::vector<std::string> keys, std::shared_ptr<KeyPolicies> named) const;

  bool open() const;
  // authorization: the Authorization header value ("" when absent).
  std::optional<ApiError> check(std::string_view authorization) const;

  struct Named {
    std::shared_ptr<KeyPolicies> policies;  // null without named keys
    std::optional<size_t> key;              // the named key presented, if one was
  };
  // Which named key the request presents (call after check() passed).
  Named identify(std::string_view authorization) const;
  std::shared_ptr<KeyPolicies> policies() const;

 private:
  struct State {
    std::vector<std::string> keys;
    std::shared_ptr<KeyPolicies> named;
  };
  struct Shared {
    std::mutex mu;
    std::shared_ptr<const State> state;
  };
  std::shared_ptr<const State> snapshot() const;

  std::shared_ptr<Shared> shared_ = std::make_shared<Shared>();
};

}  // namespace toolgate::gateway
