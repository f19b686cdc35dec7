#include "gateway/config_reload.h"

#include <chrono>

#include "gateway/upstream_model.h"

namespace toolgate::gateway {
namespace {

const config::ModelConfig* find_model(const config::Config& c, const std::string& id) {
  for (const auto& m : c.models)
    if (m.id == id) return &m;
  return nullptr;
}

int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

std::shared_ptr<KeyPolicies> make_key_policies(const config::ServerConfig& server) {
  if (server.keys.empty()) return nullptr;
  std::vector<NamedApiKey> keys;
  for (const auto& k : server.keys)
    keys.push_back({k.name, k.key, k.models, k.requests_per_minute, k.tokens_per_minute, k.admin});
  return std::make_shared<KeyPolicies>(std::move(keys));
}

ReloadPlan plan_reload(const config::Config& current, const config::Config& next,
                       SamplingDefaults (*sampling)(const config::SamplingDefaults&)) {
  ReloadPlan plan;
  for (const auto& m : next.models) {
    if (m.path.empty()) continue;
    const config::ModelConfig* was = find_model(current, m.id);
    if (!was || was->path.empty()) {
      plan.problems.push_back("model '" + m.id +
                              "': adding a local model needs a restart (reload keeps local "
                              "models as they are)");
    } else if (!(*was == m) ||
               config::engine_settings_for(current, *was) != config::engine_settings_for(next, m)) {
      plan.problems.push_back("model '" + m.id +
                              "': changing a local model needs a restart (reload keeps local "
                              "models as they are)");
    }
  }
  for (const auto& m : current.models) {
    if (m.path.empty()) continue;
    const config::ModelConfig* now = find_model(next, m.id);
    if (!now || now->path.empty())
      plan.problems.push_back("model '" + m.id + "': removing a local model needs a restart");
  }
  for (const auto& m : next.models) {
    if (!m.upstream) continue;
    try {
      plan.upstream_models.push_back(
          make_upstream_served_model(m, sampling(m.sampling), unix_now()));
    } catch (const std::exception& e) {
      plan.problems.push_back(e.what());
    }
  }
  if (!(current.tools == next.tools))
    plan.problems.push_back("tools: changing tools or plugins needs a restart");
  plan.api_keys = next.server.api_keys;
  plan.key_policies = make_key_policies(next.server);
  return plan;
}

}  // namespace toolgate::gateway
