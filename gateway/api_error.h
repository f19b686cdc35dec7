#pragma once
// OpenAI error objects: {"error":{"message","type","param","code"}} with the HTTP status that
// goes with them. Every failure at the HTTP edge becomes one of these.
#include <chrono>
#include <optional>
#include <string>

#include "gateway/http_message.h"

namespace toolgate::gateway {

struct ApiError {
  int status = 500;
  std::string message;
  std::string type = "server_error";  // invalid_request_error, authentication_error, ...
  std::optional<std::string> param;
  std::optional<std::string> code;
  int retry_after_seconds = 0;  // > 0 adds a Retry-After header (429/503)

  std::string to_json() const;
  HttpResponse to_response() const;

  static ApiError invalid_request(std::string message, std::optional<std::string> param = {},
                                  std::optional<std::string> code = {});
  static ApiError invalid_json(const std::string& detail);
  static ApiError invalid_api_key(bool key_was_given);
  static ApiError model_not_found(const std::string& model);
  static ApiError model_loading(const std::string& model);  // 503 + Retry-After
  static ApiError route_not_found(const std::string& method, const std::string& path);
  static ApiError method_not_allowed(const std::string& method, const std::string& path);
  static ApiError body_too_large(uint64_t limit);
  static ApiError overloaded(int retry_after_seconds);                        // 429
  static ApiError unavailable(std::string message, int retry_after_seconds);  // 503
  static ApiError request_timeout(std::chrono::milliseconds limit);             // 504
  static ApiError context_length_exceeded(std::string engine_message);
  static ApiError internal(std::string message);
};

}  // namespace toolgate::gateway
