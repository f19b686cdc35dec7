#include "gateway/upstream_model.h"

#include <spdlog/spdlog.h>

#include "gateway/upstream_client.h"
#include "gateway/upstream_connection_pool.h"
#include "gateway/upstream_pool.h"
#include "gateway/upstream_target.h"

namespace toolgate::gateway {

ServedModel make_upstream_served_model(const config::ModelConfig& m, SamplingDefaults sampling,
                                       int64_t created) {
  const config::UpstreamConfig& u = m.upstream.value();
  auto fail = [&](const std::string& why) {
    return std::runtime_error("model '" + m.id + "': " + why);
  };
  std::vector<config::UpstreamMemberConfig> members = u.members;
  if (members.empty()) members.push_back({u.base_url, u.api_key, 1, 0});
  const bool single = members.size() == 1;
  std::vector<UpstreamPoolMemberSpec> specs;
  std::shared_ptr<UpstreamTls> tls;  // one context for every https member
  for (const auto& mem : members) {
    std::string error;
    auto url = parse_upstream_url(mem.base_url, &error);
    if (!url) throw fail(error);
    auto target = std::make_shared<UpstreamTarget>();
    target->base_url = mem.base_url;
    target->url = std::move(*url);
    target->api_key = mem.api_key.empty() ? u.api_key : mem.api_key;
    target->remote_model = u.model.empty() ? m.id : u.model;
    target->timeout = std::chrono::milliseconds(u.timeout_ms);
    // A pool of one retries the same server (after a short pause); a larger pool retries on
    // another member instead (upstream_chat_job.cpp), so a member never retries itself.
    target->retries = single ? u.retries : 0;
    if (target->url.scheme == "https") {
      if (!tls) {
        try {
          tls = make_upstream_tls(u.ca_file, u.tls_verify);
        } catch (const std::exception& e) {
          throw fail(e.what());
        }
      }
      target->tls = tls;
      if (!u.tls_verify)
        spdlog::warn("model '{}': TLS certificate verification is off for {}", m.id, mem.base_url);
    } else if (u.idle_connections > 0) {
      target->connections = std::make_shared<UpstreamConnectionPool>(
          static_cast<size_t>(u.idle_connections), std::chrono::milliseconds(u.idle_timeout_ms));
    }
    specs.push_back({std::move(target), mem.weight, mem.max_concurrent});
  }
  UpstreamPoolOptions o;
  auto policy = parse_balance_policy(u.policy);
  if (!policy) throw fail("unknown upstream policy '" + u.policy + "'");
  o.policy = *policy;
  o.max_retries = single ? 0 : u.retries;
  o.retry_budget = u.retry_budget;
  o.eject_after_failures = u.eject_after_failures;
  o.eject_base = std::chrono::milliseconds(u.eject_ms);
  o.health_interval = std::chrono::milliseconds(u.health_check.interval_ms);
  o.health_timeout = std::chrono::milliseconds(u.health_check.timeout_ms);
  o.health_path = u.health_check.path;
  o.unhealthy_threshold = u.health_check.unhealthy_threshold;
  o.healthy_threshold = u.health_check.healthy_threshold;
  auto first = specs.front().target;
  auto pool = std::make_shared<UpstreamPool>(m.id, std::move(o), std::move(specs));

  ServedModel sm;
  sm.id = m.id;
  sm.aliases = m.aliases;
  sm.sampling = sampling;
  // Run by the gateway's tool loop around the upstream's rounds (upstream_tool_loop_job.h).
  sm.server_tools = m.server_tools;
  sm.created = created;
  sm.owned_by = "upstream";
  sm.upstream = std::move(first);
  sm.upstream_pool = std::move(pool);
  return sm;
}

}  // namespace toolgate::gateway
