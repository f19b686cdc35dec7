#pragma once
// Where an upstream (proxied) model's requests go: the parsed `base_url` plus the settings of
// config's `models[].upstream`. Plain data; no Beast.
//
//   base_url "http://127.0.0.1:8000/v1" -> host 127.0.0.1, port 8000, path_prefix "/v1",
//   requests go to POST /v1/chat/completions (base_url includes /v1, as OpenAI SDKs expect).
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace toolgate::gateway {

struct UpstreamUrl {
  std::string scheme;       // "http" or "https"
  std::string host;         // "api.example.com", "127.0.0.1", "::1" (no brackets)
  uint16_t port = 0;        // explicit, or 80 / 443 by scheme
  std::string path_prefix;  // "" or "/v1" (no trailing slash)

  std::string host_header() const;  // "host:port" (port left out when it is the default)
  std::string target(std::string_view endpoint) const;  // path_prefix + endpoint
};

// Accepts http(s)://host[:port][/path]; rejects user-info, query, fragment and bad ports.
// On failure returns nullopt and sets *error.
std::optional<UpstreamUrl> parse_upstream_url(std::string_view url, std::string* error);

// TLS client settings of an https upstream (an OpenSSL context with the trusted CAs); built by
// make_upstream_tls() in upstream_client.h, opaque here.
struct UpstreamTls;

// Idle keep-alive connections to one member (upstream_connection_pool.h), opaque here.
class UpstreamConnectionPool;

struct UpstreamTarget {
  std::string base_url;  // as configured, for messages
  UpstreamUrl url;
  std::string api_key;       // "" = no Authorization header
  std::string remote_model;  // the upstream's name for the model
  std::chrono::milliseconds timeout{600'000};  // connect, and each wait for upstream bytes
  int retries = 1;  // extra attempts on connect failure / 502 / 503 before any byte is relayed
  std::shared_ptr<UpstreamTls> tls;  // set exactly when url.scheme == "https"
  // Set: requests ask for keep-alive and reuse this member's idle connections (plain http
  // only). Null: one connection per request, closed after it.
  std::shared_ptr<UpstreamConnectionPool> connections;
};

}  // namespace toolgate::gateway
