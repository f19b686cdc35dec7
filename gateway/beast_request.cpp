#include "gateway/beast_request.h"

namespace toolgate::gateway {

HttpRequest to_http_request(BeastRequest& message) {
  HttpRequest req;
  req.method = std::string(message.method_string());
  req.target = std::string(message.target());
  for (const auto& f : message)
    req.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
  req.body = std::move(message.body());
  return req;
}

}  // namespace toolgate::gateway
