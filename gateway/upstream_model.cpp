#include "gateway/upstream_model.h"

#include <spdlog/spdlog.h>

#include "gateway/upstream_client.h"
#include "gateway/upstream_target.h"

namespace toolgate::gateway {

ServedModel make_upstream_served_model(const config::ModelConfig& m, SamplingDefaults sampling,
                                       int64_t created) {
  const config::UpstreamConfig& u = m.upstream.value();
  auto fail = [&](const std::string& why) {
    return std::runtime_error("model '" + m.id + "': " + why);
  };
  std::string error;
  auto url = parse_upstream_url(u.base_url, &error);
  if (!url) throw fail(error);
  if (!m.server_tools.empty())
    throw fail("server_tools are run by the tool loop of local models only; an upstream model "
               "forwards tools to its upstream as the client sent them");
  auto target = std::make_shared<UpstreamTarget>();
  target->base_url = u.base_url;
  target->url = std::move(*url);
  target->api_key = u.api_key;
  target->remote_model = u.model.empty() ? m.id : u.model;
  target->timeout = std::chrono::milliseconds(u.timeout_ms);
  target->retries = u.retries;
  if (target->url.scheme == "https") {
    try {
      target->tls = make_upstream_tls(u.ca_file, u.tls_verify);
    } catch (const std::exception& e) {
      throw fail(e.what());
    }
    if (!u.tls_verify)
      spdlog::warn("model '{}': TLS certificate verification is off for {}", m.id, u.base_url);
  }

  ServedModel sm;
  sm.id = m.id;
  sm.aliases = m.aliases;
  sm.sampling = sampling;
  sm.created = created;
  sm.owned_by = "upstream";
  sm.upstream = std::move(target);
  return sm;
}

}  // namespace toolgate::gateway
