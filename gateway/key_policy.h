#pragma once
// Named API keys with policies (config `server.keys`): which models a key may use, its
// requests-per-minute and tokens-per-minute limits (token buckets, rate_limiter.h), and its
// usage counters. Logs and /metrics name the key by its `name`; the key itself is only ever
// compared (in constant time) and never written anywhere.
//
// On a refusal the client gets OpenAI's shape: 429 `rate_limit_exceeded` with Retry-After and
// the x-ratelimit-{limit,remaining,reset}-{requests,tokens} headers (which every answer to a
// limited key carries), or 403 `model_not_allowed` for a model outside the key's list.
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/api_error.h"
#include "gateway/http_message.h"
#include "gateway/rate_limiter.h"

namespace toolgate::gateway {

struct NamedApiKey {
  std::string name;
  std::string key;
  std::vector<std::string> models;  // ids or aliases; empty = every model
  int requests_per_minute = 0;      // 0 = unlimited
  int tokens_per_minute = 0;        // 0 = unlimited
  bool admin = false;               // may call POST /admin/reload
};

class KeyPolicies {
 public:
  using Clock = std::chrono::steady_clock;

  explicit KeyPolicies(std::vector<NamedApiKey> keys, Clock::time_point now = Clock::now());

  bool empty() const { return keys_.empty(); }
  // The key presented as a bearer token: compared with every named key in constant time.
  std::optional<size_t> find(std::string_view token) const;
  const std::string& name(size_t key) const { return keys_[key]->spec.name; }
  bool admin(size_t key) const { return keys_[key]->spec.admin; }
  // After a reload: keys of the same name keep their usage counters, and their buckets' levels
  // where the limit did not change (a changed limit starts full at the new size).
  void carry_over_from(const KeyPolicies& old);

  struct Admission {
    std::optional<ApiError> refusal;
    HttpHeaders headers;  // x-ratelimit-* for a key with limits
  };
  // A request for `model_names` (the served model's id and aliases) by `key`: takes one request
  // token when it is allowed.
  Admission admit(size_t key, const std::vector<std::string>& model_names,
                  Clock::time_point now = Clock::now());
  // The x-ratelimit-* headers as the key's buckets stand, taking nothing: for the answers that
  // start no completion (the model list, an error), which OpenAI sends them on too. Empty for
  // a key without limits.
  HttpHeaders current_limits(size_t key, Clock::time_point now = Clock::now());
  // A finished request's usage: counted, and charged to the key's token bucket.
  void record_usage(size_t key, int prompt_tokens, int completion_tokens,
                    Clock::time_point now = Clock::now());

  // toolgate:api_key_requests_total / _prompt_tokens_total / _completion_tokens_total with a
  // `key` label holding the key's name.
  void render_metrics(std::string& out) const;

 private:
  struct Key {
    NamedApiKey spec;
    std::mutex mu;
    std::optional<TokenBucket> requests;
    std::optional<TokenBucket> tokens;
    uint64_t request_count = 0;
    uint64_t prompt_tokens = 0;
    uint64_t completion_tokens = 0;
    uint64_t refused = 0;
  };
  HttpHeaders limit_headers(Key& k, Clock::time_point now) const;

  std::vector<std::unique_ptr<Key>> keys_;
};

// Compares without an early exit, so timing does not tell how much of a guess was right.
bool constant_time_equal(std::string_view a, std::string_view b);

}  // namespace toolgate::gateway
