#include "gateway/config_reload.h"

#include <sys/stat.h>

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

std::optional<FileIdentity> file_identity(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return std::nullopt;
  FileIdentity id;
  id.device = static_cast<uint64_t>(st.st_dev);
  id.inode = static_cast<uint64_t>(st.st_ino);
  id.size = static_cast<uint64_t>(st.st_size);
  id.mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
  return id;
}

LocalEngineSpec local_engine_spec(const config::Config& config, const config::ModelConfig& model,
                                  const FileIdentityFn& identity_of) {
  auto file = [&](const std::string& path) {
    return LocalEngineSpec::File{path, identity_of(path)};
  };
  LocalEngineSpec spec;
  spec.model = file(model.path);
  for (const auto& a : model.adapters) spec.adapter_files.push_back(file(a.path));
  spec.adapters = model.adapters;
  if (!model.draft.empty()) {
    if (const config::ModelConfig* d = find_model(config, model.draft)) spec.draft = file(d->path);
  }
  spec.speculative = model.speculative;
  spec.speculative.mode = config::speculative_mode(model);
  spec.engine = config::engine_settings_for(config, model);
  spec.context_length = model.context_length;
  return spec;
}

ReloadPlan plan_reload(const config::Config& current, const config::Config& next,
                       const std::map<std::string, LocalEngineSpec>& running,
                       SamplingDefaults (*sampling)(const config::SamplingDefaults&),
                       const FileIdentityFn& identity_of) {
  ReloadPlan plan;
  for (const auto& m : next.models) {
    if (m.path.empty()) continue;
    LocalEngineSpec spec = local_engine_spec(next, m, identity_of);
    auto was = running.find(m.id);
    if (was != running.end() && was->second == spec) {
      plan.kept_local.push_back(m.id);
    } else {
      plan.load_local.push_back(m.id);
      if (was != running.end()) plan.released_local.push_back(m.id);  // changed: replaced
    }
    plan.local_specs.emplace(m.id, std::move(spec));
  }
  for (const auto& [id, spec] : running) {
    const config::ModelConfig* now = find_model(next, id);
    if (!now || now->path.empty()) plan.released_local.push_back(id);
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

std::shared_ptr<KeyPolicies> make_key_policies(const config::ServerConfig& server) {
  if (server.keys.empty()) return nullptr;
  std::vector<NamedApiKey> keys;
  for (const auto& k : server.keys)
    keys.push_back({k.name, k.key, k.models, k.requests_per_minute, k.tokens_per_minute, k.admin});
  return std::make_shared<KeyPolicies>(std::move(keys));
}

}  // namespace toolgate::gateway
