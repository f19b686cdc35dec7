#include "config/config_loader.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "config/config_validator.h"
#include "config/yaml_reader.h"

namespace toolgate::config {
namespace {

// The schema: which keys each section accepts. config/README.md documents each one.
const std::vector<std::string> kTopKeys = {"server", "logging", "engine", "models", "tools",
                                           "store"};
const std::vector<std::string> kStoreKeys = {"enabled", "path", "retention_days"};
const std::vector<std::string> kServerKeys = {"host",
                                              "port",
                                              "io_threads",
                                              "api_keys",
                                              "cors_origins",
                                              "max_body_bytes",
                                              "header_timeout_ms",
                                              "max_header_bytes",
                                              "max_header_count",
                                              "idle_timeout_ms",
                                              "request_timeout_ms",
                                              "max_concurrent_requests",
                                              "max_queue",
                                              "max_tokens_per_request",
                                              "max_tool_rounds",
                                              "max_schema_bytes",
                                              "max_schema_depth",
                                              "web_ui",
                                              "keys",
                                              "metrics_auth",
                                              "tls"};
const std::vector<std::string> kApiKeyKeys = {"name", "key", "models", "requests_per_minute",
                                              "tokens_per_minute", "admin"};
const std::vector<std::string> kTlsKeys = {"cert", "key", "min_version"};
const std::vector<std::string> kLoggingKeys = {"level", "format", "access_log"};
const std::vector<std::string> kEngineKeys = {
    "threads",  "kv_budget_bytes", "kv_budget_fraction",  "block_size",
    "kv_dtype", "max_num_seqs",    "max_tokens_per_step", "prefix_caching",
    "kv_preallocate"};
const std::vector<std::string> kModelKeys = {"id",
                                             "path",
                                             "upstream",
                                             "aliases",
                                             "context_length",
                                             "chat_template",
                                             "chat_template_file",
                                             "tool_dialect",
                                             "constrain_tool_calls",
                                             "sampling",
                                             "server_tools",
                                             "adapters",
                                             "draft",
                                             "speculative",
                                             "engine"};
const std::vector<std::string> kAdapterKeys = {"id", "path", "scale"};
const std::vector<std::string> kSpeculativeKeys = {"mode", "max_k", "ngram_min", "ngram_max"};
const std::vector<std::string> kUpstreamKeys = {
    "base_url", "api_key",    "model",   "timeout_ms",   "retries",
    "ca_file",  "tls_verify", "members", "policy",       "retry_budget",
    "eject_after_failures",   "eject_ms", "health_check", "idle_connections", "idle_timeout_ms"};
const std::vector<std::string> kUpstreamMemberKeys = {"base_url", "api_key", "weight",
                                                      "max_concurrent"};
const std::vector<std::string> kHealthCheckKeys = {"interval_ms", "path", "timeout_ms",
                                                   "unhealthy_threshold", "healthy_threshold"};
const std::vector<std::string> kSamplingKeys = {
    "temperature",       "top_p", "min_p",     "repetition_penalty", "presence_penalty",
    "frequency_penalty", "top_k", "max_tokens"};
const std::vector<std::string> kToolsKeys = {"builtin", "plugins", "timeout_ms"};
const std::vector<std::string> kPluginKeys = {"path", "settings", "isolation", "cpu_seconds",
                                              "max_memory_bytes"};

// Relative file paths in a config mean "next to this config file".
std::string resolve(const std::string& path, const std::filesystem::path& base_dir) {
  if (path.empty() || base_dir.empty()) return path;
  const std::filesystem::path p(path);
  if (p.is_absolute()) return path;
  return (base_dir / p).lexically_normal().string();
}

class ConfigReader {
 public:
  ConfigReader(YamlReader& reader, std::filesystem::path base_dir)
      : r_(reader), base_dir_(std::move(base_dir)) {}

  Config read(const YAML::Node& root) {
    Config config;
    const auto top = r_.mapping(root, "", kTopKeys);
    if (!top) return config;
    // The global engine section first: per-model sections are merged over it.
    if (const auto* n = top->find("engine")) read_engine(*n, "engine", config.engine);
    if (const auto* n = top->find("server")) read_server(*n, config.server);
    if (const auto* n = top->find("logging")) read_logging(*n, config.logging);
    if (const auto* n = top->find("tools")) read_tools(*n, config.tools);
    if (const auto* n = top->find("store")) read_store(*n, config.store);
    if (const auto* n = top->find("models")) {
      if (const auto items = r_.list(*n, "models")) {
        for (size_t i = 0; i < items->size(); ++i) {
          config.models.push_back(read_model((*items)[i], index_path("models", i), config.engine));
        }
      }
    }
    return config;
  }

 private:
  void read_server(const YAML::Node& node, ServerConfig& s) {
    const auto m = r_.mapping(node, "server", kServerKeys);
    if (!m) return;
    r_.read(*m, "host", s.host);
    r_.read(*m, "port", s.port);
    r_.read(*m, "io_threads", s.io_threads);
    r_.read(*m, "api_keys", s.api_keys);
    r_.read(*m, "cors_origins", s.cors_origins);
    r_.read_byte_size(*m, "max_body_bytes", s.max_body_bytes);
    r_.read(*m, "header_timeout_ms", s.header_timeout_ms);
    r_.read_byte_size(*m, "max_header_bytes", s.max_header_bytes);
    r_.read(*m, "max_header_count", s.max_header_count);
    r_.read(*m, "idle_timeout_ms", s.idle_timeout_ms);
    r_.read(*m, "request_timeout_ms", s.request_timeout_ms);
    r_.read(*m, "max_concurrent_requests", s.max_concurrent_requests);
    r_.read(*m, "max_queue", s.max_queue);
    r_.read(*m, "max_tokens_per_request", s.max_tokens_per_request);
    r_.read(*m, "max_tool_rounds", s.max_tool_rounds);
    r_.read_byte_size(*m, "max_schema_bytes", s.max_schema_bytes);
    r_.read(*m, "max_schema_depth", s.max_schema_depth);
    r_.read(*m, "web_ui", s.web_ui);
    r_.read(*m, "metrics_auth", s.metrics_auth);
    if (const auto* n = m->find("keys")) {
      if (const auto items = r_.list(*n, "server.keys")) {
        for (size_t i = 0; i < items->size(); ++i) {
          const auto km = r_.mapping((*items)[i], index_path("server.keys", i), kApiKeyKeys);
          if (!km) continue;
          ApiKeyConfig k;
          r_.read(*km, "name", k.name);
          r_.read(*km, "key", k.key);
          r_.read(*km, "models", k.models);
          r_.read(*km, "requests_per_minute", k.requests_per_minute);
          r_.read(*km, "tokens_per_minute", k.tokens_per_minute);
          r_.read(*km, "admin", k.admin);
          s.keys.push_back(std::move(k));
        }
      }
    }
    if (const auto* n = m->find("tls")) s.tls = read_tls(*n);
  }

  TlsConfig read_tls(const YAML::Node& node) {
    TlsConfig t;
    const auto m = r_.mapping(node, "server.tls", kTlsKeys);
    if (!m) return t;
    r_.read(*m, "cert", t.cert);
    r_.read(*m, "key", t.key);
    r_.read(*m, "min_version", t.min_version);
    t.cert = resolve(t.cert, base_dir_);
    t.key = resolve(t.key, base_dir_);
    return t;
  }

  void read_store(const YAML::Node& node, StoreConfig& s) {
    const auto m = r_.mapping(node, "store", kStoreKeys);
    if (!m) return;
    r_.read(*m, "enabled", s.enabled);
    r_.read(*m, "path", s.path);
    r_.read(*m, "retention_days", s.retention_days);
  }

  void read_logging(const YAML::Node& node, LoggingConfig& l) {
    const auto m = r_.mapping(node, "logging", kLoggingKeys);
    if (!m) return;
    r_.read(*m, "level", l.level);
    r_.read(*m, "format", l.format);
    r_.read(*m, "access_log", l.access_log);
  }

  void read_engine(const YAML::Node& node, const std::string& path, EngineSettings& e) {
    const auto m = r_.mapping(node, path, kEngineKeys);
    if (!m) return;
    r_.read(*m, "threads", e.threads);
    r_.read_byte_size(*m, "kv_budget_bytes", e.kv_budget_bytes);
    r_.read(*m, "kv_budget_fraction", e.kv_budget_fraction);
    r_.read(*m, "block_size", e.block_size);
    r_.read(*m, "kv_dtype", e.kv_dtype);
    r_.read(*m, "max_num_seqs", e.max_num_seqs);
    r_.read(*m, "max_tokens_per_step", e.max_tokens_per_step);
    r_.read(*m, "prefix_caching", e.prefix_caching);
    r_.read(*m, "kv_preallocate", e.kv_preallocate);
  }

  void read_sampling(const YAML::Node& node, const std::string& path, SamplingDefaults& s) {
    const auto m = r_.mapping(node, path, kSamplingKeys);
    if (!m) return;
    r_.read(*m, "temperature", s.temperature);
    r_.read(*m, "top_p", s.top_p);
    r_.read(*m, "min_p", s.min_p);
    r_.read(*m, "repetition_penalty", s.repetition_penalty);
    r_.read(*m, "presence_penalty", s.presence_penalty);
    r_.read(*m, "frequency_penalty", s.frequency_penalty);
    r_.read(*m, "top_k", s.top_k);
    r_.read(*m, "max_tokens", s.max_tokens);
  }

  UpstreamConfig read_upstream(const YAML::Node& node, const std::string& path) {
    UpstreamConfig u;
    const auto m = r_.mapping(node, path, kUpstreamKeys);
    if (!m) return u;
    r_.read(*m, "base_url", u.base_url);
    r_.read(*m, "api_key", u.api_key);
    r_.read(*m, "model", u.model);
    r_.read(*m, "timeout_ms", u.timeout_ms);
    r_.read(*m, "retries", u.retries);
    r_.read(*m, "ca_file", u.ca_file);
    if (!u.ca_file.empty()) u.ca_file = resolve(u.ca_file, base_dir_);
    r_.read(*m, "tls_verify", u.tls_verify);
    r_.read(*m, "policy", u.policy);
    r_.read(*m, "retry_budget", u.retry_budget);
    r_.read(*m, "eject_after_failures", u.eject_after_failures);
    r_.read(*m, "eject_ms", u.eject_ms);
    r_.read(*m, "idle_connections", u.idle_connections);
    r_.read(*m, "idle_timeout_ms", u.idle_timeout_ms);
    if (const auto* n = m->find("members")) {
      const std::string list_path = child_path(path, "members");
      if (const auto items = r_.list(*n, list_path)) {
        for (size_t i = 0; i < items->size(); ++i) {
          const auto mm = r_.mapping((*items)[i], index_path(list_path, i), kUpstreamMemberKeys);
          if (!mm) continue;
          UpstreamMemberConfig member;
          r_.read(*mm, "base_url", member.base_url);
          r_.read(*mm, "api_key", member.api_key);
          r_.read(*mm, "weight", member.weight);
          r_.read(*mm, "max_concurrent", member.max_concurrent);
          u.members.push_back(std::move(member));
        }
      }
    }
    if (const auto* n = m->find("health_check")) {
      if (const auto hm = r_.mapping(*n, child_path(path, "health_check"), kHealthCheckKeys)) {
        UpstreamHealthCheckConfig& h = u.health_check;
        r_.read(*hm, "interval_ms", h.interval_ms);
        r_.read(*hm, "path", h.path);
        r_.read(*hm, "timeout_ms", h.timeout_ms);
        r_.read(*hm, "unhealthy_threshold", h.unhealthy_threshold);
        r_.read(*hm, "healthy_threshold", h.healthy_threshold);
      }
    }
    return u;
  }

  ModelConfig read_model(const YAML::Node& node, const std::string& path,
                         const EngineSettings& global_engine) {
    ModelConfig model;
    const auto m = r_.mapping(node, path, kModelKeys);
    if (!m) return model;
    r_.read(*m, "id", model.id);
    r_.read(*m, "path", model.path);
    model.path = resolve(model.path, base_dir_);
    if (const auto* n = m->find("upstream")) {
      model.upstream = read_upstream(*n, child_path(path, "upstream"));
      if (model.upstream->model.empty()) model.upstream->model = model.id;
    }
    r_.read(*m, "aliases", model.aliases);
    r_.read(*m, "context_length", model.context_length);
    // Jinja text is not expanded: "${" could be part of the template.
    r_.read(*m, "chat_template", model.chat_template, /*expand=*/false);
    r_.read(*m, "chat_template_file", model.chat_template_file);
    model.chat_template_file = resolve(model.chat_template_file, base_dir_);
    r_.read(*m, "tool_dialect", model.tool_dialect);
    r_.read(*m, "constrain_tool_calls", model.constrain_tool_calls);
    if (const auto* n = m->find("sampling")) {
      read_sampling(*n, child_path(path, "sampling"), model.sampling);
    }
    r_.read(*m, "server_tools", model.server_tools);
    if (const auto* n = m->find("adapters")) {
      const std::string list_path = child_path(path, "adapters");
      if (const auto items = r_.list(*n, list_path)) {
        for (size_t i = 0; i < items->size(); ++i) {
          AdapterConfig a;
          if (const auto am = r_.mapping((*items)[i], index_path(list_path, i), kAdapterKeys)) {
            r_.read(*am, "id", a.id);
            r_.read(*am, "path", a.path);
            a.path = resolve(a.path, base_dir_);
            r_.read(*am, "scale", a.scale);
          }
          model.adapters.push_back(std::move(a));
        }
      }
    }
    r_.read(*m, "draft", model.draft);
    if (const auto* n = m->find("speculative")) {
      if (const auto sm = r_.mapping(*n, child_path(path, "speculative"), kSpeculativeKeys)) {
        SpeculativeConfig& sc = model.speculative;
        r_.read(*sm, "mode", sc.mode);
        r_.read(*sm, "max_k", sc.max_k);
        r_.read(*sm, "ngram_min", sc.ngram_min);
        r_.read(*sm, "ngram_max", sc.ngram_max);
      }
    }
    if (const auto* n = m->find("engine")) {
      model.engine = global_engine;
      read_engine(*n, child_path(path, "engine"), *model.engine);
    }
    return model;
  }

  void read_tools(const YAML::Node& node, ToolsConfig& t) {
    const auto m = r_.mapping(node, "tools", kToolsKeys);
    if (!m) return;
    r_.read(*m, "builtin", t.builtin);
    r_.read(*m, "timeout_ms", t.timeout_ms);
    if (const auto* n = m->find("plugins")) {
      if (const auto items = r_.list(*n, "tools.plugins")) {
        for (size_t i = 0; i < items->size(); ++i) {
          const std::string path = index_path("tools.plugins", i);
          ToolsConfig::Plugin plugin;
          plugin.settings_json = "{}";
          if (const auto pm = r_.mapping((*items)[i], path, kPluginKeys)) {
            r_.read(*pm, "path", plugin.path);
            plugin.path = resolve(plugin.path, base_dir_);
            r_.read_as_json(*pm, "settings", plugin.settings_json);
            r_.read(*pm, "isolation", plugin.isolation);
            r_.read(*pm, "cpu_seconds", plugin.cpu_seconds);
            r_.read_byte_size(*pm, "max_memory_bytes", plugin.max_memory_bytes);
          }
          t.plugins.push_back(std::move(plugin));
        }
      }
    }
  }

  YamlReader& r_;
  std::filesystem::path base_dir_;
};

LoadResult finish(std::optional<Config> config, std::vector<ConfigIssue> issues) {
  std::stable_sort(issues.begin(), issues.end(), [](const ConfigIssue& a, const ConfigIssue& b) {
    return std::pair(a.line, a.column) < std::pair(b.line, b.column);
  });
  LoadResult result;
  if (issues.empty()) result.config = std::move(config);
  result.issues = std::move(issues);
  return result;
}

LoadResult load(std::string_view text, const std::string& name,
                const std::filesystem::path& base_dir, const ValidationContext& ctx) {
  std::vector<ConfigIssue> issues;
  PositionMap positions;
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {  // ParserException, or DeepRecursion on hostile nesting
    issues.push_back({name, e.mark.line + 1, e.mark.column + 1, "", "YAML syntax error: " + e.msg});
    return finish(std::nullopt, std::move(issues));
  }
  YamlReader reader(name, {}, issues, positions);
  Config config = ConfigReader(reader, base_dir).read(root);
  config.source = name;
  check_config(config, ctx, &positions, issues);
  return finish(std::move(config), std::move(issues));
}

}  // namespace

std::string LoadResult::error_text() const {
  std::string out;
  for (const auto& issue : issues) out += issue.to_string() + "\n";
  return out;
}

LoadResult load_config_file(const std::filesystem::path& file, const ValidationContext& ctx) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    return finish(std::nullopt,
                  {{file.string(), 0, 0, "", "cannot read config file (does it exist?)"}});
  }
  std::ostringstream text;
  text << in.rdbuf();
  std::error_code ec;
  const auto absolute = std::filesystem::absolute(file, ec);
  return load(text.str(), file.string(), ec ? file.parent_path() : absolute.parent_path(), ctx);
}

LoadResult load_config_string(std::string_view yaml_text, const std::string& name,
                              const ValidationContext& ctx) {
  return load(yaml_text, name, std::filesystem::path(name).parent_path(), ctx);
}

std::vector<ConfigIssue> validate_config(const Config& config, const ValidationContext& ctx) {
  std::vector<ConfigIssue> issues;
  check_config(config, ctx, nullptr, issues);
  return issues;
}

std::filesystem::path default_config_path() {
#ifdef TOOLGATE_DEFAULT_CONFIG
  return TOOLGATE_DEFAULT_CONFIG;
#else
  return "config/default.yaml";
#endif
}

}  // namespace toolgate::config
