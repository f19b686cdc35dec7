// Upstream pools in the config: `upstream.members`, the policy, ejection and health checks.
#include <gtest/gtest.h>

#include "config/config_loader.h"
#include "config/config_printer.h"
#include "config_test_support.h"

namespace toolgate::config {
namespace {

using testing::without_file_checks;

constexpr const char* kPool = R"(models:
  - id: smol
    upstream:
      model: smollm2
      api_key: sk-pool
      policy: prefix_affinity
      retries: 2
      eject_after_failures: 4
      eject_ms: 2000
      idle_connections: 4
      idle_timeout_ms: 1500
      health_check: {interval_ms: 500, path: /v1/models, unhealthy_threshold: 3}
      members:
        - base_url: http://127.0.0.1:8101/v1
        - {base_url: http://127.0.0.1:8102/v1, weight: 3, max_concurrent: 8, api_key: sk-two}
)";

TEST(UpstreamPoolConfig, ReadsMembersPolicyEjectionAndHealthChecks) {
  LoadResult r = load_config_string(kPool, "<string>", without_file_checks());
  ASSERT_TRUE(r.ok()) << r.error_text();
  const UpstreamConfig& u = *r.config->models[0].upstream;
  EXPECT_TRUE(u.base_url.empty());
  ASSERT_EQ(u.members.size(), 2u);
  EXPECT_EQ(u.members[0].base_url, "http://127.0.0.1:8101/v1");
  EXPECT_EQ(u.members[0].weight, 1);
  EXPECT_EQ(u.members[0].api_key, "");  // the pool's key applies
  EXPECT_EQ(u.members[1].weight, 3);
  EXPECT_EQ(u.members[1].max_concurrent, 8);
  EXPECT_EQ(u.members[1].api_key, "sk-two");
  EXPECT_EQ(u.policy, "prefix_affinity");
  EXPECT_EQ(u.retries, 2);
  EXPECT_EQ(u.eject_after_failures, 4);
  EXPECT_EQ(u.eject_ms, 2000);
  EXPECT_EQ(u.health_check.interval_ms, 500);
  EXPECT_EQ(u.health_check.path, "/v1/models");
  EXPECT_EQ(u.health_check.unhealthy_threshold, 3);
  EXPECT_EQ(u.health_check.healthy_threshold, 1);
  EXPECT_EQ(u.idle_connections, 4);
  EXPECT_EQ(u.idle_timeout_ms, 1500);
}

TEST(UpstreamPoolConfig, KeepAliveToMembersIsOnByDefault) {
  LoadResult r = load_config_string(
      "models:\n  - id: smol\n    upstream: {base_url: http://127.0.0.1:8101/v1}\n", "<string>",
      without_file_checks());
  ASSERT_TRUE(r.ok()) << r.error_text();
  EXPECT_EQ(r.config->models[0].upstream->idle_connections, 16);
  EXPECT_EQ(r.config->models[0].upstream->idle_timeout_ms, 4000);
}

TEST(UpstreamPoolConfig, PrintedConfigLoadsBackEqual) {
  LoadResult r = load_config_string(kPool, "<string>", without_file_checks());
  ASSERT_TRUE(r.ok()) << r.error_text();
  PrintOptions keep_keys;
  keep_keys.mask_secrets = false;
  const std::string yaml = to_yaml(*r.config, keep_keys);
  LoadResult again = load_config_string(yaml, "<string>", without_file_checks());
  ASSERT_TRUE(again.ok()) << again.error_text() << "\n" << yaml;
  EXPECT_EQ(again.config->models[0].upstream, r.config->models[0].upstream);
}

void expect_error(const std::string& upstream_yaml, const std::string& path,
                  const std::string& message_part) {
  const std::string yaml = "models:\n  - id: smol\n    upstream:\n" + upstream_yaml;
  LoadResult r = load_config_string(yaml, "<string>", without_file_checks());
  ASSERT_FALSE(r.ok()) << yaml;
  const std::string text = r.error_text();
  EXPECT_NE(text.find(path), std::string::npos) << text;
  EXPECT_NE(text.find(message_part), std::string::npos) << text;
}

TEST(UpstreamPoolConfig, MistakesAreReportedAtTheirKey) {
  expect_error("      base_url: http://a/v1\n      members: [{base_url: http://b/v1}]\n",
               "models[0].upstream.base_url", "not both");
  expect_error("      members: [{base_url: ftp://b/v1}]\n",
               "models[0].upstream.members[0].base_url", "http://");
  expect_error("      members: [{weight: 2}]\n", "models[0].upstream.members[0].base_url",
               "missing required key");
  expect_error("      members: [{base_url: http://b/v1, weight: 0}]\n",
               "models[0].upstream.members[0].weight", "at least 1");
  expect_error("      members: [{base_url: http://b/v1}]\n      policy: round_robin\n",
               "models[0].upstream.policy", "expected one of least_outstanding");
  expect_error("      members: [{base_url: http://b/v1}]\n      health_check: {path: health}\n",
               "models[0].upstream.health_check.path", "absolute path");
  expect_error("      members: [{base_url: http://b/v1, wieght: 2}]\n",
               "models[0].upstream.members[0]", "wieght");
  expect_error("      members: [{base_url: http://b/v1}]\n      retry_budget: 1.5\n",
               "models[0].upstream.retry_budget", "between 0 and 1");
  expect_error("      members: [{base_url: http://b/v1}]\n      idle_connections: -1\n",
               "models[0].upstream.idle_connections", "at least 0");
  expect_error("      members: [{base_url: http://b/v1}]\n      idle_timeout_ms: 0\n",
               "models[0].upstream.idle_timeout_ms", "at least 1");
}

}  // namespace
}  // namespace toolgate::config
