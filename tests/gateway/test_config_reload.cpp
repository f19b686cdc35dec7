#include <gtest/gtest.h>

#include "gateway/config_reload.h"
#include "gateway/upstream_pool.h"

namespace toolgate::gateway {
namespace {

SamplingDefaults no_sampling(const config::SamplingDefaults&) { return {}; }

config::Config base() {
  config::Config c;
  config::ModelConfig local;
  local.id = "local";
  local.path = "/models/m.gguf";
  c.models.push_back(local);
  config::ModelConfig remote;
  remote.id = "remote";
  remote.upstream.emplace();
  remote.upstream->base_url = "http://127.0.0.1:9001/v1";
  c.models.push_back(remote);
  return c;
}

TEST(ConfigReload, RebuildsUpstreamPoolsAndKeys) {
  config::Config next = base();
  next.models[1].upstream->base_url.clear();
  next.models[1].upstream->members = {{"http://127.0.0.1:9001/v1", "", 1, 0},
                                      {"http://127.0.0.1:9002/v1", "", 1, 0}};
  next.server.keys.push_back({"alice", "sk-a", {}, 60, 0, false});
  ReloadPlan plan = plan_reload(base(), next, &no_sampling);
  ASSERT_TRUE(plan.problems.empty()) << plan.problems.front();
  ASSERT_EQ(plan.upstream_models.size(), 1u);
  EXPECT_EQ(plan.upstream_models[0].upstream_pool->size(), 2u);
  ASSERT_TRUE(plan.key_policies);
  EXPECT_EQ(plan.key_policies->find("sk-a"), 0u);
}

TEST(ConfigReload, LocalModelsMustStayAsTheyAre) {
  config::Config changed = base();
  changed.models[0].context_length = 512;
  EXPECT_EQ(plan_reload(base(), changed, &no_sampling).problems.size(), 1u);

  config::Config engine = base();
  engine.engine.max_num_seqs = 4;
  EXPECT_EQ(plan_reload(base(), engine, &no_sampling).problems.size(), 1u);

  config::Config removed = base();
  removed.models.erase(removed.models.begin());
  EXPECT_EQ(plan_reload(base(), removed, &no_sampling).problems.size(), 1u);

  EXPECT_TRUE(plan_reload(base(), base(), &no_sampling).problems.empty());
}

TEST(ConfigReload, KeysOfTheSameNameKeepTheirCountersAndUnchangedBuckets) {
  KeyPolicies old({{"alice", "sk-a", {}, 60, 0, false}, {"bob", "sk-b", {}, 60, 0, false}});
  old.record_usage(0, 10, 2);
  for (int i = 0; i < 60; ++i) ASSERT_FALSE(old.admit(0, {"m"}).refusal);
  for (int i = 0; i < 60; ++i) ASSERT_FALSE(old.admit(1, {"m"}).refusal);
  // alice keeps her limit (and her empty bucket); bob's limit changes (a fresh bucket).
  KeyPolicies next({{"alice", "sk-a2", {}, 60, 0, false}, {"bob", "sk-b", {}, 120, 0, false}});
  next.carry_over_from(old);
  EXPECT_TRUE(next.admit(0, {"m"}).refusal);
  EXPECT_FALSE(next.admit(1, {"m"}).refusal);
  std::string text;
  next.render_metrics(text);
  EXPECT_NE(text.find("toolgate:api_key_prompt_tokens_total{key=\"alice\"} 10"), std::string::npos);
}

}  // namespace
}  // namespace toolgate::gateway
