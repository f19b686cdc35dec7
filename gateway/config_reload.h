#pragma once
// Live reload (SIGHUP, POST /admin/reload): what a newly read config changes, checked before
// anything is swapped. Upstream models (pools) and API keys with their limits are rebuilt;
// local models must stay as they are (their weights and engine are kept, never reloaded), so a
// config that adds, removes or changes a local model is refused with a problem saying so.
#include <memory>
#include <string>
#include <vector>

#include "config/config.h"
#include "gateway/key_policy.h"
#include "gateway/options.h"

namespace toolgate::gateway {

struct ReloadPlan {
  std::vector<std::string> problems;         // non-empty: keep the old config
  std::vector<ServedModel> upstream_models;  // built from the new config, in its order
  std::vector<std::string> api_keys;
  std::shared_ptr<KeyPolicies> key_policies;  // null without named keys
};

// `sampling` converts a model's config sampling defaults (as main() does at start-up).
ReloadPlan plan_reload(const config::Config& current, const config::Config& next,
                       SamplingDefaults (*sampling)(const config::SamplingDefaults&));

std::shared_ptr<KeyPolicies> make_key_policies(const config::ServerConfig& server);

}  // namespace toolgate::gateway
