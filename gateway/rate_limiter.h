#pragma once
// A token bucket for per-minute limits: it holds at most `per_minute` tokens and refills
// continuously at per_minute / 60 per second, so a key may burst up to its whole minute's
// allowance and then proceeds at the steady rate. Not thread-safe (key_policy.h locks).
//
// Requests take one token up front (refused when less than one is left). Tokens of a chat
// completion are only known at its end, so they are charged then and may drive the bucket
// negative; a key in debt is refused until the refill brings it back above zero (what OpenAI
// does with max_tokens estimates, without guessing).
#include <chrono>
#include <string>

namespace toolgate::gateway {

class TokenBucket {
 public:
  using Clock = std::chrono::steady_clock;

  TokenBucket(double per_minute, Clock::time_point now);

  double limit() const { return capacity_; }
  double available(Clock::time_point now);
  // Takes `n` when at least `n` are there.
  bool try_take(double n, Clock::time_point now);
  // Takes `n` regardless (may go negative).
  void charge(double n, Clock::time_point now);
  // How long until `n` tokens are there (zero when they are).
  Clock::duration time_until(double n, Clock::time_point now);
  // How long until the bucket is full again: OpenAI's x-ratelimit-reset-*.
  Clock::duration time_until_full(Clock::time_point now);

 private:
  void refill(Clock::time_point now);

  double capacity_;
  double per_second_;
  double tokens_;
  Clock::time_point last_;
};

// OpenAI's duration format for x-ratelimit-reset-*: "1s", "6m0s", "59ms", "1.5s".
std::string format_reset_duration(TokenBucket::Clock::duration d);

}  // namespace toolgate::gateway
