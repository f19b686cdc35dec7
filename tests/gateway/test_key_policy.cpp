#include <gtest/gtest.h>

#include "gateway/api_key_auth.h"
#include "gateway/key_policy.h"
#include "gateway/rate_limiter.h"

namespace toolgate::gateway {
namespace {

using Clock = KeyPolicies::Clock;
using std::chrono::milliseconds;
using std::chrono::seconds;

std::string header(const HttpHeaders& h, const std::string& name) {
  for (const auto& [k, v] : h)
    if (k == name) return v;
  return "<absent>";
}

TEST(TokenBucket, BurstsToItsMinuteThenRefillsAtTheSteadyRate) {
  const auto t = Clock::now();
  TokenBucket b(60, t);
  for (int i = 0; i < 60; ++i) ASSERT_TRUE(b.try_take(1, t)) << i;
  EXPECT_FALSE(b.try_take(1, t));
  EXPECT_EQ(b.time_until(1, t), seconds(1));
  EXPECT_TRUE(b.try_take(1, t + seconds(1)));
  EXPECT_EQ(b.time_until_full(t + seconds(1)), seconds(60));
}

TEST(TokenBucket, ChargesMayRunIntoDebt) {
  const auto t = Clock::now();
  TokenBucket b(600, t);
  b.charge(900, t);
  EXPECT_DOUBLE_EQ(b.available(t), -300);
  EXPECT_EQ(b.time_until(1, t), milliseconds(30'100));
}

TEST(TokenBucket, ResetDurationsUseOpenAIsFormat) {
  EXPECT_EQ(format_reset_duration(milliseconds(17)), "17ms");
  EXPECT_EQ(format_reset_duration(seconds(1)), "1s");
  EXPECT_EQ(format_reset_duration(milliseconds(1500)), "1.5s");
  EXPECT_EQ(format_reset_duration(seconds(360)), "6m0s");
}

KeyPolicies keys(Clock::time_point t) {
  return KeyPolicies({{"alice", "sk-alice", {}, 60, 0, false},
                      {"bob", "sk-bob", {"small", "small-alias"}, 0, 1000, false}},
                     t);
}

TEST(KeyPolicies, FindsKeysByValueAndNamesThem) {
  auto k = keys(Clock::now());
  ASSERT_EQ(k.find("sk-bob"), 1u);
  EXPECT_EQ(k.name(1), "bob");
  EXPECT_FALSE(k.find("sk-bo"));
  EXPECT_FALSE(k.find("sk-bobb"));
}

TEST(KeyPolicies, The61stRequestInAMinuteIsRefusedWithOpenAIsHeaders) {
  const auto t = Clock::now();
  auto k = keys(t);
  for (int i = 0; i < 60; ++i) {
    auto a = k.admit(0, {"m"}, t);
    ASSERT_FALSE(a.refusal) << i;
    EXPECT_EQ(header(a.headers, "x-ratelimit-remaining-requests"), std::to_string(59 - i));
  }
  auto a = k.admit(0, {"m"}, t);
  ASSERT_TRUE(a.refusal);
  EXPECT_EQ(a.refusal->status, 429);
  EXPECT_EQ(a.refusal->code, "rate_limit_exceeded");
  EXPECT_EQ(a.refusal->retry_after_seconds, 1);
  EXPECT_NE(a.refusal->message.find("'alice'"), std::string::npos);
  EXPECT_EQ(a.refusal->message.find("sk-alice"), std::string::npos);
  EXPECT_EQ(header(a.headers, "x-ratelimit-limit-requests"), "60");
  EXPECT_EQ(header(a.headers, "x-ratelimit-remaining-requests"), "0");
  EXPECT_EQ(header(a.headers, "x-ratelimit-reset-requests"), "1m0s");
  EXPECT_EQ(header(a.headers, "x-ratelimit-limit-tokens"), "<absent>");
  HttpResponse r = a.refusal->to_response();
  EXPECT_EQ(r.status, 429);
  EXPECT_NE(r.body.find("rate_limit_exceeded"), std::string::npos);
}

TEST(KeyPolicies, AKeyInTokenDebtWaitsForTheRefill) {
  const auto t = Clock::now();
  auto k = keys(t);
  ASSERT_FALSE(k.admit(1, {"small"}, t).refusal);
  k.record_usage(1, 900, 200, t);  // 1100 of 1000
  auto a = k.admit(1, {"small"}, t);
  ASSERT_TRUE(a.refusal);
  EXPECT_EQ(a.refusal->type, "tokens");
  EXPECT_EQ(a.refusal->retry_after_seconds, 7);  // 101 tokens at 1000/60 per second: 6.06 s
  EXPECT_EQ(header(a.headers, "x-ratelimit-remaining-tokens"), "0");
  EXPECT_FALSE(k.admit(1, {"small"}, t + seconds(7)).refusal);
}

TEST(KeyPolicies, AModelOutsideTheKeysListIsRefusedByIdOrAlias) {
  auto k = keys(Clock::now());
  EXPECT_FALSE(k.admit(1, {"small-x", "small-alias"}).refusal);
  auto a = k.admit(1, {"large"});
  ASSERT_TRUE(a.refusal);
  EXPECT_EQ(a.refusal->status, 403);
  EXPECT_EQ(a.refusal->code, "model_not_allowed");
  EXPECT_EQ(a.refusal->param, "model");
}

TEST(KeyPolicies, UsageCountersAreExportedByNameNeverByKey) {
  auto k = keys(Clock::now());
  k.record_usage(0, 10, 3);
  k.record_usage(0, 5, 2);
  std::string text;
  k.render_metrics(text);
  EXPECT_NE(text.find("toolgate:api_key_requests_total{key=\"alice\"} 2"), std::string::npos);
  EXPECT_NE(text.find("toolgate:api_key_prompt_tokens_total{key=\"alice\"} 15"), std::string::npos);
  EXPECT_NE(text.find("toolgate:api_key_completion_tokens_total{key=\"alice\"} 5"),
            std::string::npos);
  EXPECT_EQ(text.find("sk-"), std::string::npos);
}

TEST(ApiKeyAuth, AcceptsFlatAndNamedKeysAndTellsWhichNamedOne) {
  auto named = std::make_shared<KeyPolicies>(
      std::vector<NamedApiKey>{{"alice", "sk-alice", {}, 0, 0, true}});
  ApiKeyAuth auth({"sk-flat"}, named);
  EXPECT_FALSE(auth.open());
  EXPECT_FALSE(auth.check("Bearer sk-flat"));
  EXPECT_FALSE(auth.check("Bearer sk-alice"));
  EXPECT_TRUE(auth.check("Bearer sk-nobody"));
  EXPECT_EQ(auth.identify("Bearer sk-alice").key, 0u);
  EXPECT_TRUE(auth.identify("Bearer sk-alice").policies->admin(0));
  EXPECT_FALSE(auth.identify("Bearer sk-flat").key);
  // A reload swaps the keys for every copy at once.
  ApiKeyAuth copy = auth;
  copy.replace({"sk-new"}, nullptr);
  EXPECT_TRUE(auth.check("Bearer sk-alice"));
  EXPECT_FALSE(auth.check("Bearer sk-new"));
  // Named keys alone close the server.
  EXPECT_TRUE(ApiKeyAuth({}, named).check(""));
}

}  // namespace
}  // namespace toolgate::gateway
