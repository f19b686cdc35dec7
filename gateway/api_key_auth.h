#pragma once
// Bearer API keys. With no keys configured the server is open.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/api_error.h"

namespace toolgate::gateway {

class ApiKeyAuth {
 public:
  explicit ApiKeyAuth(std::vector<std::string> keys) : keys_(std::move(keys)) {}
  bool open() const { return keys_.empty(); }
  // authorization: the Authorization header value ("" when absent).
  std::optional<ApiError> check(std::string_view authorization) const;

 private:
  std::vector<std::string> keys_;
};

}  // namespace toolgate::gateway
