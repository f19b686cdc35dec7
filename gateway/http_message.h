#pragma once
// Plain HTTP request/response values: what the Beast session hands to the API layer and gets
// back. Keeping Beast out of them lets routing, auth, CORS and errors be tested without sockets.
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace toolgate::gateway {

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

// Case-insensitive lookup; returns "" when absent.
std::string_view find_header(const HttpHeaders& headers, std::string_view name);

struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string target;  // "/v1/models?x=y"
  HttpHeaders headers;
  std::string body;

  std::string_view path() const;  // target without the query string
  std::string_view header(std::string_view name) const { return find_header(headers, name); }
};

struct HttpResponse {
  int status = 200;
  HttpHeaders headers;  // Content-Type etc.; Content-Length/Connection are added when written
  std::string body;

  void set_header(std::string name, std::string value);
};

HttpResponse json_response(int status, std::string body);
const char* status_reason(int status);

// Serializes a complete response with Content-Length and Connection headers.
std::string serialize_response(const HttpResponse& response, bool keep_alive);
// Serializes the head of a chunked (streaming) response.
std::string serialize_stream_head(const HttpResponse& head, bool keep_alive);
// One chunk of a chunked body (empty data yields nothing: the empty chunk ends the body).
std::string chunk_frame(std::string_view data);
// The terminating zero-length chunk.
std::string_view last_chunk_frame();

}  // namespace toolgate::gateway
