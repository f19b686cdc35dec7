#pragma once
// Live reload (SIGHUP, POST /admin/reload): what a newly read config changes, checked before
// anything is swapped. Upstream models (pools) and API keys with their limits are rebuilt.
// A local model keeps its running engine when nothing the engine was built from changed (its
// LocalEngineSpec: file, engine settings, adapters, draft); its other settings (aliases,
// sampling, template, tools) are applied on that engine. Added or changed local models are
// loaded (by the caller, off the I/O threads) before the new catalog is swapped in; engines of
// removed or changed models are released when their last in-flight request ends
// (engine_reaper.h).
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/config.h"
#include "gateway/key_policy.h"
#include "gateway/options.h"

namespace toolgate::gateway {

// Which file a path names, and which version of it: a file replaced in place (new mtime or
// size) or by a rename (new inode) is a different file.
struct FileIdentity {
  uint64_t device = 0;
  uint64_t inode = 0;
  uint64_t size = 0;
  int64_t mtime_ns = 0;
  bool operator==(const FileIdentity&) const = default;
};
// nullopt when the file cannot be stat()ed (its load will then fail and say why).
std::optional<FileIdentity> file_identity(const std::string& path);
using FileIdentityFn = std::function<std::optional<FileIdentity>(const std::string& path)>;

// Everything a local model's engine is built from; equal specs = the running engine serves on.
struct LocalEngineSpec {
  struct File {
    std::string path;
    std::optional<FileIdentity> identity;
    bool operator==(const File&) const = default;
  };
  File model;
  std::vector<File> adapter_files;  // in config order
  std::vector<config::AdapterConfig> adapters;
  std::optional<File> draft;  // the draft model's file
  config::SpeculativeConfig speculative;
  config::EngineSettings engine;
  int context_length = 0;
  bool operator==(const LocalEngineSpec&) const = default;
};
LocalEngineSpec local_engine_spec(const config::Config& config, const config::ModelConfig& model,
                                  const FileIdentityFn& identity_of = file_identity);

struct ReloadPlan {
  std::vector<std::string> problems;         // non-empty: keep the old config
  std::vector<ServedModel> upstream_models;  // built from the new config, in its order
  std::vector<std::string> kept_local;       // ids of local models whose engine serves on
  std::vector<std::string> load_local;       // ids of local models to load (new or changed)
  std::vector<std::string> released_local;   // ids of running engines the new config drops
  std::map<std::string, LocalEngineSpec> local_specs;  // every local model of the new config
  std::vector<std::string> api_keys;
  std::shared_ptr<KeyPolicies> key_policies;  // null without named keys
};

// `running`: the spec each running local engine was loaded with, by model id. `sampling`
// converts a model's config sampling defaults (as main() does at start-up).
ReloadPlan plan_reload(const config::Config& current, const config::Config& next,
                       const std::map<std::string, LocalEngineSpec>& running,
                       SamplingDefaults (*sampling)(const config::SamplingDefaults&),
                       const FileIdentityFn& identity_of = file_identity);

std::shared_ptr<KeyPolicies> make_key_policies(const config::ServerConfig& server);

}  // namespace toolgate::gateway
