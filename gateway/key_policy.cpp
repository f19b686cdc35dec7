#include "gateway/key_policy.h"

#include <algorithm>
#include <cmath>

#include "gateway/metrics.h"

namespace toolgate::gateway {

bool constant_time_equal(std::string_view a, std::string_view b) {
  unsigned diff = static_cast<unsigned>(a.size() ^ b.size());
  for (size_t i = 0; i < a.size(); ++i)
    diff |= static_cast<unsigned char>(a[i]) ^
            static_cast<unsigned char>(b.empty() ? 0 : b[i % b.size()]);
  return diff == 0;
}

KeyPolicies::KeyPolicies(std::vector<NamedApiKey> keys, Clock::time_point now) {
  for (auto& spec : keys) {
    auto k = std::make_unique<Key>();
    if (spec.requests_per_minute > 0) k->requests.emplace(spec.requests_per_minute, now);
    if (spec.tokens_per_minute > 0) k->tokens.emplace(spec.tokens_per_minute, now);
    k->spec = std::move(spec);
    keys_.push_back(std::move(k));
  }
}

std::optional<size_t> KeyPolicies::find(std::string_view token) const {
  std::optional<size_t> found;
  for (size_t i = 0; i < keys_.size(); ++i) {
    // No early exit: every key is compared whatever matched before.
    if (constant_time_equal(token, keys_[i]->spec.key) && !found) found = i;
  }
  return found;
}

HttpHeaders KeyPolicies::limit_headers(Key& k, Clock::time_point now) const {
  HttpHeaders h;
  auto add = [&](const char* what, TokenBucket& b) {
    const double left = std::max(0.0, std::floor(b.available(now)));
    h.emplace_back(std::string("x-ratelimit-limit-") + what,
                   std::to_string(static_cast<long long>(b.limit())));
    h.emplace_back(std::string("x-ratelimit-remaining-") + what,
                   std::to_string(static_cast<long long>(left)));
    h.emplace_back(std::string("x-ratelimit-reset-") + what,
                   format_reset_duration(b.time_until_full(now)));
  };
  if (k.requests) add("requests", *k.requests);
  if (k.tokens) add("tokens", *k.tokens);
  return h;
}

KeyPolicies::Admission KeyPolicies::admit(size_t key, const std::vector<std::string>& model_names,
                                          Clock::time_point now) {
  Key& k = *keys_[key];
  Admission a;
  if (!k.spec.models.empty()) {
    const bool allowed = std::any_of(model_names.begin(), model_names.end(), [&](const auto& n) {
      return std::find(k.spec.models.begin(), k.spec.models.end(), n) != k.spec.models.end();
    });
    if (!allowed) {
      ApiError e;
      e.status = 403;
      e.type = "invalid_request_error";
      e.param = "model";
      e.code = "model_not_allowed";
      e.message = "The API key '" + k.spec.name + "' may not use the model '" +
                  (model_names.empty() ? std::string() : model_names.front()) + "'.";
      a.refusal = std::move(e);
      return a;
    }
  }
  std::lock_guard lock(k.mu);
  std::optional<Clock::duration> wait;
  std::string what;
  std::string type;  // OpenAI's error type names the exhausted limit
  if (k.tokens && k.tokens->available(now) <= 0) {
    wait = k.tokens->time_until(1, now);
    what = "tokens per minute (TPM): limit " + std::to_string(k.spec.tokens_per_minute);
    type = "tokens";
  } else if (k.requests && !k.requests->try_take(1, now)) {
    wait = k.requests->time_until(1, now);
    what = "requests per minute (RPM): limit " + std::to_string(k.spec.requests_per_minute);
    type = "requests";
  }
  a.headers = limit_headers(k, now);
  if (wait) {
    ++k.refused;
    ApiError e;
    e.status = 429;
    e.type = type;
    e.code = "rate_limit_exceeded";
    const double seconds = std::chrono::duration<double>(*wait).count();
    e.retry_after_seconds = std::max(1, static_cast<int>(std::ceil(seconds)));
    e.message = "Rate limit reached for API key '" + k.spec.name + "' on " + what +
                ". Please try again in " + format_reset_duration(*wait) + ".";
    a.refusal = std::move(e);
  }
  return a;
}

HttpHeaders KeyPolicies::current_limits(size_t key, Clock::time_point now) {
  Key& k = *keys_[key];
  std::lock_guard lock(k.mu);
  return limit_headers(k, now);
}

void KeyPolicies::record_usage(size_t key, int prompt_tokens, int completion_tokens,
                               Clock::time_point now) {
  Key& k = *keys_[key];
  std::lock_guard lock(k.mu);
  ++k.request_count;
  k.prompt_tokens += static_cast<uint64_t>(std::max(0, prompt_tokens));
  k.completion_tokens += static_cast<uint64_t>(std::max(0, completion_tokens));
  if (k.tokens) k.tokens->charge(std::max(0, prompt_tokens) + std::max(0, completion_tokens), now);
}

void KeyPolicies::carry_over_from(const KeyPolicies& old) {
  for (auto& k : keys_) {
    for (const auto& o : old.keys_) {
      if (o->spec.name != k->spec.name) continue;
      std::scoped_lock lock(k->mu, o->mu);
      k->request_count = o->request_count;
      k->prompt_tokens = o->prompt_tokens;
      k->completion_tokens = o->completion_tokens;
      k->refused = o->refused;
      if (k->requests && o->requests && o->spec.requests_per_minute == k->spec.requests_per_minute)
        k->requests = o->requests;
      if (k->tokens && o->tokens && o->spec.tokens_per_minute == k->spec.tokens_per_minute)
        k->tokens = o->tokens;
    }
  }
}

void KeyPolicies::render_metrics(std::string& out) const {
  if (keys_.empty()) return;
  const auto label = prometheus_label;
  auto family = [&](const char* name, const char* help, uint64_t Key::*field) {
    out.append("# HELP ").append(name).append(" ").append(help).append("\n# TYPE ");
    out.append(name).append(" counter\n");
    for (const auto& k : keys_) {
      std::lock_guard lock(k->mu);
      out.append(name).append("{key=\"").append(label(k->spec.name)).append("\"} ");
      out.append(std::to_string((*k).*field)).append("\n");
    }
  };
  family("toolgate:api_key_requests_total", "Finished requests per API key (by its name).",
         &Key::request_count);
  family("toolgate:api_key_prompt_tokens_total", "Prompt tokens per API key (by its name).",
         &Key::prompt_tokens);
  family("toolgate:api_key_completion_tokens_total", "Completion tokens per API key (by its name).",
         &Key::completion_tokens);
  family("toolgate:api_key_rate_limited_total",
         "Requests refused by an API key's rate limits (by its name).", &Key::refused);
}

}  // namespace toolgate::gateway
