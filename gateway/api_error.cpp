#include "gateway/api_error.h"

#include <nlohmann/json.hpp>

namespace toolgate::gateway {

std::string ApiError::to_json() const {
  nlohmann::json j = {{"error",
                       {{"message", message},
                        {"type", type},
                        {"param", param ? nlohmann::json(*param) : nlohmann::json(nullptr)},
                        {"code", code ? nlohmann::json(*code) : nlohmann::json(nullptr)}}}};
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

HttpResponse ApiError::to_response() const {
  HttpResponse r = json_response(status, to_json());
  if (retry_after_seconds > 0) r.set_header("Retry-After", std::to_string(retry_after_seconds));
  return r;
}

ApiError ApiError::invalid_request(std::string message, std::optional<std::string> param,
                                   std::optional<std::string> code) {
  return ApiError{400, std::move(message), "invalid_request_error", std::move(param),
                  std::move(code)};
}

ApiError ApiError::invalid_json(const std::string& detail) {
  return ApiError{400,
                  "We could not parse the JSON body of your request. (HINT: This likely means "
                  "you aren't using your HTTP library correctly. The OpenAI API expects a JSON "
                  "payload, but what was sent was not valid JSON.) Parser said: " +
                      detail,
                  "invalid_request_error", std::nullopt, std::nullopt};
}

ApiError ApiError::invalid_api_key(bool key_was_given) {
  return ApiError{401,
                  key_was_given ? "Incorrect API key provided."
                                : "You didn't provide an API key. You need to provide your API "
                                  "key in an Authorization header using Bearer auth (i.e. "
                                  "Authorization: Bearer YOUR_KEY).",
                  "invalid_request_error", std::nullopt, "invalid_api_key"};
}

ApiError ApiError::model_not_found(const std::string& model) {
  return ApiError{404, "The model `" + model + "` does not exist or you do not have access to it.",
                  "invalid_request_error", "model", "model_not_found"};
}

ApiError ApiError::model_loading(const std::string& model) {
  return ApiError{503,     "The model `" + model + "` is still loading; retry shortly.",
                  "server_error", "model", "model_loading", 2};
}

ApiError ApiError::route_not_found(const std::string& method, const std::string& path) {
  return ApiError{404, "Invalid URL (" + method + " " + path + ")", "invalid_request_error",
                  std::nullopt, "not_found"};
}

ApiError ApiError::method_not_allowed(const std::string& method, const std::string& path) {
  return ApiError{405, "Method " + method + " is not allowed for " + path, "invalid_request_error",
                  std::nullopt, "method_not_allowed"};
}

ApiError ApiError::body_too_large(uint64_t limit) {
  return ApiError{413, "Request body too large: the limit is " + std::to_string(limit) + " bytes.",
                  "invalid_request_error", std::nullopt, "request_too_large"};
}

ApiError ApiError::overloaded(int retry_after_seconds) {
  return ApiError{429,
                  "The server is handling too many requests. Please retry shortly.",
                  "rate_limit_error",
                  std::nullopt,
                  "rate_limit_exceeded",
                  retry_after_seconds};
}

ApiError ApiError::unavailable(std::string message, int retry_after_seconds) {
  return ApiError{503,          std::move(message),    "server_error",
                  std::nullopt, "service_unavailable", retry_after_seconds};
}

ApiError ApiError::request_timeout(std::chrono::milliseconds limit) {
  return ApiError{504,
                  "The request ran longer than the server's request timeout (" +
                      std::to_string(limit.count() / 1000) + " s) and was stopped.",
                  "server_error", std::nullopt, "request_timeout"};
}

ApiError ApiError::context_length_exceeded(std::string engine_message) {
  return ApiError{400, std::move(engine_message), "invalid_request_error", "messages",
                  "context_length_exceeded"};
}

ApiError ApiError::internal(std::string message) {
  return ApiError{500, std::move(message), "server_error", std::nullopt, "internal_error"};
}

}  // namespace toolgate::gateway
