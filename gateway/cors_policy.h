#pragma once
// CORS: which browser origins may call the API. Configured origins are matched exactly;
// "*" allows any. Preflight (OPTIONS) answers 204 with the allowed methods and headers.
#include <string>
#include <string_view>
#include <vector>

#include "gateway/http_message.h"

namespace toolgate::gateway {

class CorsPolicy {
 public:
  explicit CorsPolicy(std::vector<std::string> allowed_origins);

  // Headers to add to any response for a request carrying this Origin (none if not allowed).
  HttpHeaders response_headers(std::string_view origin) const;
  // The answer to an OPTIONS preflight.
  HttpResponse preflight(const HttpRequest& request) const;

 private:
  bool allows(std::string_view origin) const;

  std::vector<std::string> origins_;
  bool any_ = false;
};

}  // namespace toolgate::gateway
