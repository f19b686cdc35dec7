#include "gateway/rate_limiter.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace toolgate::gateway {

TokenBucket::TokenBucket(double per_minute, Clock::time_point now)
    : capacity_(per_minute), per_second_(per_minute / 60.0), tokens_(per_minute), last_(now) {}

void TokenBucket::refill(Clock::time_point now) {
  if (now <= last_) return;
  const double seconds = std::chrono::duration<double>(now - last_).count();
  tokens_ = std::min(capacity_, tokens_ + seconds * per_second_);
  last_ = now;
}

double TokenBucket::available(Clock::time_point now) {
  refill(now);
  return tokens_;
}

bool TokenBucket::try_take(double n, Clock::time_point now) {
  refill(now);
  if (tokens_ < n) return false;
  tokens_ -= n;
  return true;
}

void TokenBucket::charge(double n, Clock::time_point now) {
  refill(now);
  tokens_ -= n;
}

TokenBucket::Clock::duration TokenBucket::time_until(double n, Clock::time_point now) {
  refill(now);
  if (tokens_ >= n || per_second_ <= 0) return Clock::duration::zero();
  return std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>((n - tokens_) / per_second_));
}

TokenBucket::Clock::duration TokenBucket::time_until_full(Clock::time_point now) {
  return time_until(capacity_, now);
}

std::string format_reset_duration(TokenBucket::Clock::duration d) {
  const double ms = std::chrono::duration<double, std::milli>(d).count();
  char buf[48];
  if (ms < 1000) {
    std::snprintf(buf, sizeof buf, "%.0fms", std::ceil(ms));
  } else if (ms < 60'000) {
    std::snprintf(buf, sizeof buf, "%gs", std::ceil(ms / 100) / 10);
  } else {
    const long long total = static_cast<long long>(std::ceil(ms / 1000));
    std::snprintf(buf, sizeof buf, "%lldm%llds", total / 60, total % 60);
  }
  return buf;
}

}  // namespace toolgate::gateway
