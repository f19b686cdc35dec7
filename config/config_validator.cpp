#include "config/config_validator.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <sstream>

#include "config/did_you_mean.h"

namespace toolgate::config {
namespace {

const std::vector<std::string> kLogLevels = {"trace", "debug",    "info", "warn",
                                             "error", "critical", "off"};
const std::vector<std::string> kLogFormats = {"text", "json"};
const std::vector<std::string> kKvDtypes = {"f16", "int8", "int4"};

std::string quoted(const std::string& s) { return "'" + s + "'"; }

std::string number_text(double v) {
  std::ostringstream out;
  out << v;
  return out.str();
}

class Checker {
 public:
  Checker(const Config& config, const ValidationContext& ctx, const PositionMap* positions,
          std::vector<ConfigIssue>& issues)
      : config_(config), ctx_(ctx), positions_(positions), issues_(issues) {}

  void run() {
    check_server(config_.server);
    check_logging(config_.logging);
    check_engine(config_.engine, "engine", /*only_explicit=*/false);
    check_models();
    check_tools(config_.tools);
    check_store(config_.store);
  }

 private:
  // Where to point for `path`: its own position, else the nearest enclosing one that is known
  // (a missing key is reported at the mapping that lacks it).
  SourcePosition locate(std::string path) const {
    if (!positions_) return {};
    while (true) {
      if (const auto it = positions_->find(path); it != positions_->end()) return it->second;
      const size_t cut = path.find_last_of(".[");
      if (cut == std::string::npos) return {};
      path.resize(cut);
    }
  }

  bool written_in_file(const std::string& path) const {
    return !positions_ || positions_->count(path) > 0;
  }

  void fail(const std::string& path, std::string message) {
    // A value that could not be read was reported already; its default would only add noise.
    for (const auto& issue : issues_) {
      if (issue.path == path) return;
    }
    const SourcePosition at = locate(path);
    issues_.push_back({config_.source, at.line, at.column, path, std::move(message)});
  }

  void at_least(const std::string& path, long long value, long long min) {
    if (value < min) {
      fail(path, "must be at least " + std::to_string(min) + ", got " + std::to_string(value));
    }
  }

  void one_of(const std::string& path, const std::string& value,
              const std::vector<std::string>& allowed) {
    if (std::find(allowed.begin(), allowed.end(), value) != allowed.end()) return;
    std::string message = "expected one of " + join(allowed) + ", got " + quoted(value);
    if (const auto guess = closest_match(value, allowed))
      message += "; did you mean '" + *guess + "'?";
    fail(path, std::move(message));
  }

  void in_range(const std::string& path, const std::optional<double>& value, double lo, double hi,
                bool lo_open, const char* range_text) {
    if (!value) return;
    const bool ok = (lo_open ? *value > lo : *value >= lo) && *value <= hi;
    if (!ok) fail(path, std::string("must be in ") + range_text + ", got " + number_text(*value));
  }

  void check_server(const ServerConfig& s) {
    if (s.host.empty()) fail("server.host", "must not be empty (use 0.0.0.0 for all interfaces)");
    if (s.port < 1 || s.port > 65535) {
      fail("server.port", "expected a port in 1..65535, got " + std::to_string(s.port));
    }
    at_least("server.io_threads", s.io_threads, 1);
    for (size_t i = 0; i < s.keys.size(); ++i) {
      const ApiKeyConfig& k = s.keys[i];
      const std::string at = index_path("server.keys", i);
      if (k.name.empty()) fail(child_path(at, "name"), "missing required key 'name'");
      if (k.key.empty()) fail(child_path(at, "key"), "API key must not be empty");
      for (size_t j = 0; j < i; ++j) {
        if (!k.name.empty() && s.keys[j].name == k.name)
          fail(child_path(at, "name"), "the key name " + quoted(k.name) + " is used twice");
        if (!k.key.empty() && s.keys[j].key == k.key)
          fail(child_path(at, "key"), "the same key is configured twice (as " +
                                          quoted(s.keys[j].name) + ")");
      }
      at_least(child_path(at, "requests_per_minute"), k.requests_per_minute, 0);
      at_least(child_path(at, "tokens_per_minute"), k.tokens_per_minute, 0);
    }
    for (size_t i = 0; i < s.api_keys.size(); ++i) {
      if (s.api_keys[i].empty()) {
        fail(index_path("server.api_keys", i), "API key must not be empty");
      }
    }
    for (size_t i = 0; i < s.cors_origins.size(); ++i) {
      const std::string& o = s.cors_origins[i];
      if (o != "*" && o.rfind("http://", 0) != 0 && o.rfind("https://", 0) != 0) {
        fail(index_path("server.cors_origins", i),
             "expected '*' or an origin such as https://example.com, got " + quoted(o));
      }
    }
    if (s.max_body_bytes == 0) fail("server.max_body_bytes", "must be greater than 0");
    if (s.max_schema_bytes == 0) fail("server.max_schema_bytes", "must be greater than 0");
    at_least("server.header_timeout_ms", s.header_timeout_ms, 1);
    if (s.max_header_bytes < 1024) fail("server.max_header_bytes", "must be at least 1 KiB");
    at_least("server.max_header_count", s.max_header_count, 8);
    if (s.tls) {
      if (s.tls->cert.empty()) fail("server.tls.cert", "must name a PEM certificate file");
      if (s.tls->key.empty()) fail("server.tls.key", "must name a PEM private key file");
      one_of("server.tls.min_version", s.tls->min_version, {"1.2", "1.3"});
    }
    at_least("server.idle_timeout_ms", s.idle_timeout_ms, 1);
    at_least("server.request_timeout_ms", s.request_timeout_ms, 1);
    at_least("server.max_concurrent_requests", s.max_concurrent_requests, 1);
    at_least("server.max_queue", s.max_queue, 0);
    at_least("server.max_tokens_per_request", s.max_tokens_per_request, 1);
    at_least("server.max_tool_rounds", s.max_tool_rounds, 1);
    at_least("server.max_schema_depth", s.max_schema_depth, 1);
  }

  void check_store(const StoreConfig& s) {
    at_least("store.retention_days", s.retention_days, 0);
    if (s.enabled && s.path.empty())
      fail("store.path", "must name a file when the store is enabled");
  }

  void check_logging(const LoggingConfig& l) {
    one_of("logging.level", l.level, kLogLevels);
    one_of("logging.format", l.format, kLogFormats);
  }

  // only_explicit: for a model's merged engine settings, check only the keys that model's own
  // section writes (inherited values were checked as the global section's).
  void check_engine(const EngineSettings& e, const std::string& path, bool only_explicit) {
    auto want = [&](const char* key) {
      return !only_explicit || written_in_file(child_path(path, key));
    };
    if (want("threads")) at_least(child_path(path, "threads"), e.threads, 0);
    if (want("kv_budget_bytes") && e.kv_budget_bytes && *e.kv_budget_bytes == 0) {
      fail(child_path(path, "kv_budget_bytes"),
           "must be greater than 0 (leave it out to use kv_budget_fraction)");
    }
    if (want("kv_budget_fraction")) {
      in_range(child_path(path, "kv_budget_fraction"), e.kv_budget_fraction, 0.0, 1.0, true,
               "(0, 1]");
    }
    if (want("block_size")) {
      const int b = e.block_size;
      if (b < 8 || b > 256 || (b & (b - 1)) != 0) {
        fail(child_path(path, "block_size"),
             "expected a power of two in 8..256, got " + std::to_string(b));
      }
    }
    if (want("kv_dtype")) one_of(child_path(path, "kv_dtype"), e.kv_dtype, kKvDtypes);
    if (want("max_num_seqs")) at_least(child_path(path, "max_num_seqs"), e.max_num_seqs, 1);
    if (want("max_tokens_per_step")) {
      at_least(child_path(path, "max_tokens_per_step"), e.max_tokens_per_step, 1);
    }
  }

  void check_sampling(const SamplingDefaults& s, const std::string& path) {
    in_range(child_path(path, "temperature"), s.temperature, 0.0, 2.0, false, "[0, 2]");
    in_range(child_path(path, "top_p"), s.top_p, 0.0, 1.0, true, "(0, 1]");
    in_range(child_path(path, "min_p"), s.min_p, 0.0, 1.0, false, "[0, 1]");
    in_range(child_path(path, "repetition_penalty"), s.repetition_penalty, 0.0, 1e9, true,
             "(0, inf)");
    in_range(child_path(path, "presence_penalty"), s.presence_penalty, -2.0, 2.0, false, "[-2, 2]");
    in_range(child_path(path, "frequency_penalty"), s.frequency_penalty, -2.0, 2.0, false,
             "[-2, 2]");
    if (s.top_k) at_least(child_path(path, "top_k"), *s.top_k, 0);
    if (s.max_tokens) at_least(child_path(path, "max_tokens"), *s.max_tokens, 1);
  }

  void check_file(const std::string& path, const std::string& file, const char* what) {
    if (!ctx_.check_files || file.empty()) return;
    std::error_code ec;
    if (!std::filesystem::exists(file, ec)) {
      fail(path, std::string(what) + " not found: " + file);
    } else if (std::filesystem::is_directory(file, ec)) {
      fail(path, std::string(what) + " is a directory, not a file: " + file);
    }
  }

  void check_models() {
    if (config_.models.empty()) {
      fail("models", "no models configured; add at least one under 'models:'");
      return;
    }
    // Ids and aliases share one namespace: a request's "model" must name exactly one model.
    std::map<std::string, std::string> names;  // name -> config path that claimed it first
    auto claim = [&](const std::string& name, const std::string& path) {
      const auto [it, fresh] = names.emplace(name, path);
      if (fresh) return;
      std::string where = it->second;
      if (const SourcePosition first = locate(it->second); first.line > 0) {
        where += " at line " + std::to_string(first.line);
      }
      fail(path, "model name " + quoted(name) + " is already used by " + where);
    };
    for (size_t i = 0; i < config_.models.size(); ++i) {
      const ModelConfig& m = config_.models[i];
      const std::string path = index_path("models", i);
      if (m.id.empty()) {
        fail(child_path(path, "id"), "missing required key 'id'");
      } else if (m.id.find_first_of(" \t\r\n") != std::string::npos) {
        fail(child_path(path, "id"), "model id must not contain whitespace, got " + quoted(m.id));
      } else {
        claim(m.id, child_path(path, "id"));
      }
      for (size_t j = 0; j < m.aliases.size(); ++j) {
        const std::string alias_path = index_path(child_path(path, "aliases"), j);
        if (m.aliases[j].empty()) {
          fail(alias_path, "alias must not be empty");
        } else {
          claim(m.aliases[j], alias_path);
        }
      }
      check_model_source(m, path);
      at_least(child_path(path, "context_length"), m.context_length, 0);
      if (!m.chat_template.empty() && !m.chat_template_file.empty()) {
        fail(child_path(path, "chat_template_file"),
             "give either chat_template or chat_template_file, not both");
      }
      check_file(child_path(path, "chat_template_file"), m.chat_template_file,
                 "chat template file");
      check_sampling(m.sampling, child_path(path, "sampling"));
      for (size_t j = 0; j < m.server_tools.size(); ++j) {
        check_server_tool(m.server_tools[j], index_path(child_path(path, "server_tools"), j));
      }
      if (m.engine) check_engine(*m.engine, child_path(path, "engine"), positions_ != nullptr);
      check_adapters(m, path, claim);
      check_speculative(m, path);
    }
  }

  // Each adapter is served as "<model id>:<adapter id>", a name in the same namespace as ids
  // and aliases.
  template <class Claim>
  void check_adapters(const ModelConfig& m, const std::string& path, Claim& claim) {
    const std::string list = child_path(path, "adapters");
    if (!m.adapters.empty() && m.upstream) {
      fail(list, "'adapters' applies only to local models (with 'path')");
      return;
    }
    for (size_t j = 0; j < m.adapters.size(); ++j) {
      const AdapterConfig& a = m.adapters[j];
      const std::string at = index_path(list, j);
      if (a.id.empty()) {
        fail(child_path(at, "id"), "missing required key 'id'");
      } else if (a.id.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") !=
                 std::string::npos) {
        fail(child_path(at, "id"), "adapter id may hold only letters, digits, '.', '_' and '-', got " + quoted(a.id));
      } else if (!m.id.empty()) {
        claim(m.id + ":" + a.id, child_path(at, "id"));
      }
      if (a.path.empty()) fail(child_path(at, "path"), "missing required key 'path'");
      check_file(child_path(at, "path"), a.path, "adapter file");
      in_range(child_path(at, "scale"), a.scale, -100.0, 100.0, false, "[-100, 100]");
    }
  }

  // `draft` names another local model of this config (its id, not an alias: the draft is a
  // file to load, and an id is what names one); the vocabularies are compared at start-up.
  void check_speculative(const ModelConfig& m, const std::string& path) {
    const SpeculativeConfig& s = m.speculative;
    const std::string sp = child_path(path, "speculative");
    static const std::vector<std::string> kModes = {"off", "ngram", "draft"};
    if (!s.mode.empty()) one_of(child_path(sp, "mode"), s.mode, kModes);
    if (s.max_k < 1 || s.max_k > 32)
      fail(child_path(sp, "max_k"), "expected 1..32, got " + std::to_string(s.max_k));
    at_least(child_path(sp, "ngram_min"), s.ngram_min, 1);
    if (s.ngram_max < s.ngram_min)
      fail(child_path(sp, "ngram_max"), "must be at least ngram_min (" +
                                            std::to_string(s.ngram_min) + "), got " +
                                            std::to_string(s.ngram_max));
    const std::string mode = speculative_mode(m);
    if (mode != "off" && m.upstream) {
      fail(m.draft.empty() ? sp : child_path(path, "draft"),
           "speculative decoding applies only to local models (with 'path')");
      return;
    }
    if (mode == "draft" && m.draft.empty()) {
      fail(child_path(sp, "mode"), "mode 'draft' needs 'draft: <model id>' on the model");
      return;
    }
    if (m.draft.empty()) return;
    const std::string dp = child_path(path, "draft");
    if (mode != "draft") {
      fail(dp, "a draft model is set but speculative.mode is " + quoted(mode));
      return;
    }
    if (m.draft == m.id) {
      fail(dp, "a model cannot draft for itself");
      return;
    }
    std::vector<std::string> local_ids;
    for (const ModelConfig& other : config_.models) {
      if (other.id != m.draft) {
        if (!other.upstream && other.id != m.id) local_ids.push_back(other.id);
        continue;
      }
      if (other.upstream) fail(dp, "draft model " + quoted(m.draft) + " is not local (it has 'upstream')");
      return;
    }
    std::string message = "unknown draft model " + quoted(m.draft);
    if (const auto guess = closest_match(m.draft, local_ids))
      message += "; did you mean '" + *guess + "'?";
    message += local_ids.empty() ? " (no other local models are configured)"
                                 : " (local models: " + join(local_ids) + ")";
    fail(dp, std::move(message));
  }

  void check_model_source(const ModelConfig& m, const std::string& path) {
    const bool local = !m.path.empty();
    if (local && m.upstream) {
      fail(child_path(path, "upstream"),
           "give either 'path' (a local GGUF file) or 'upstream' (a remote server), not both");
      return;
    }
    if (!local && !m.upstream) {
      fail(path, "needs 'path' (a local GGUF file) or 'upstream' (a remote server); got neither");
      return;
    }
    if (local) {
      check_file(child_path(path, "path"), m.path, "model file");
      return;
    }
    const UpstreamConfig& u = *m.upstream;
    const std::string up = child_path(path, "upstream");
    auto check_url = [&](const std::string& at, const std::string& url) {
      if (url.empty()) {
        fail(at, "missing required key 'base_url'");
      } else if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0) {
        fail(at, "expected an http:// or https:// URL, got " + quoted(url));
      }
    };
    if (u.members.empty()) {
      check_url(child_path(up, "base_url"), u.base_url);
    } else if (!u.base_url.empty()) {
      fail(child_path(up, "base_url"),
           "give either 'base_url' (one server) or 'members' (a pool), not both");
    }
    bool https = u.base_url.rfind("https://", 0) == 0;
    for (size_t i = 0; i < u.members.size(); ++i) {
      const auto& mem = u.members[i];
      const std::string at = index_path(child_path(up, "members"), i);
      check_url(child_path(at, "base_url"), mem.base_url);
      https = https || mem.base_url.rfind("https://", 0) == 0;
      at_least(child_path(at, "weight"), mem.weight, 1);
      at_least(child_path(at, "max_concurrent"), mem.max_concurrent, 0);
    }
    one_of(child_path(up, "policy"), u.policy,
           {"least_outstanding", "weighted_round_robin", "prefix_affinity"});
    if (u.retry_budget < 0 || u.retry_budget > 1)
      fail(child_path(up, "retry_budget"),
           "expected a share between 0 and 1, got " + std::to_string(u.retry_budget));
    at_least(child_path(up, "eject_after_failures"), u.eject_after_failures, 1);
    at_least(child_path(up, "eject_ms"), u.eject_ms, 1);
    at_least(child_path(up, "idle_connections"), u.idle_connections, 0);
    at_least(child_path(up, "idle_timeout_ms"), u.idle_timeout_ms, 1);
    const std::string hc = child_path(up, "health_check");
    at_least(child_path(hc, "interval_ms"), u.health_check.interval_ms, 0);
    at_least(child_path(hc, "timeout_ms"), u.health_check.timeout_ms, 1);
    at_least(child_path(hc, "unhealthy_threshold"), u.health_check.unhealthy_threshold, 1);
    at_least(child_path(hc, "healthy_threshold"), u.health_check.healthy_threshold, 1);
    if (u.health_check.path.empty() || u.health_check.path.front() != '/')
      fail(child_path(hc, "path"),
           "expected an absolute path such as /health, got " + quoted(u.health_check.path));
    at_least(child_path(up, "timeout_ms"), u.timeout_ms, 1);
    at_least(child_path(up, "retries"), u.retries, 0);
    if (!https && (!u.ca_file.empty() || !u.tls_verify)) {
      fail(child_path(up, u.ca_file.empty() ? "tls_verify" : "ca_file"),
           "TLS settings need an https:// base_url, got " + quoted(u.base_url));
    }
    check_file(child_path(up, "ca_file"), u.ca_file, "CA file");
    // Settings of the local engine mean nothing for a remote model; saying so beats ignoring.
    auto local_only = [&](bool set, const char* key) {
      if (set) {
        fail(child_path(path, key),
             std::string("'") + key + "' applies only to local models (with 'path')");
      }
    };
    local_only(m.engine.has_value(), "engine");
    local_only(!m.chat_template.empty(), "chat_template");
    local_only(!m.chat_template_file.empty(), "chat_template_file");
    local_only(!m.tool_dialect.empty(), "tool_dialect");
    local_only(!m.constrain_tool_calls, "constrain_tool_calls");
  }

  bool is_builtin(const std::string& name) const {
    const auto& names = builtin_tool_names();
    return std::find(names.begin(), names.end(), name) != names.end() ||
           (ctx_.tool_exists && ctx_.tool_exists(name));
  }

  void check_server_tool(const std::string& name, const std::string& path) {
    const auto& enabled = config_.tools.builtin;
    if (std::find(enabled.begin(), enabled.end(), name) != enabled.end()) return;
    if (ctx_.tool_exists && ctx_.tool_exists(name)) return;
    const auto& builtins = builtin_tool_names();
    if (std::find(builtins.begin(), builtins.end(), name) != builtins.end()) {
      fail(path, "tool " + quoted(name) + " is built in but not enabled; add it to tools.builtin");
      return;
    }
    // A plugin's tool names are known only once it is loaded (the gateway checks again then).
    if (!ctx_.tool_exists && !config_.tools.plugins.empty()) return;
    std::string message = "unknown tool " + quoted(name);
    if (const auto guess = closest_match(name, builtins))
      message += "; did you mean '" + *guess + "'?";
    message += enabled.empty() ? " (no tools are enabled in tools.builtin)"
                               : " (enabled tools: " + join(enabled) + ")";
    fail(path, std::move(message));
  }

  void check_tools(const ToolsConfig& t) {
    for (size_t i = 0; i < t.builtin.size(); ++i) {
      if (is_builtin(t.builtin[i])) continue;
      std::string message = "unknown built-in tool " + quoted(t.builtin[i]);
      if (const auto guess = closest_match(t.builtin[i], builtin_tool_names())) {
        message += "; did you mean '" + *guess + "'?";
      }
      message += " (built-in tools: " + join(builtin_tool_names()) + ")";
      fail(index_path("tools.builtin", i), std::move(message));
    }
    for (size_t i = 0; i < t.plugins.size(); ++i) {
      const std::string path = index_path("tools.plugins", i);
      if (t.plugins[i].path.empty()) {
        fail(child_path(path, "path"), "missing required key 'path'");
      } else {
        check_file(child_path(path, "path"), t.plugins[i].path, "plugin library");
      }
      one_of(child_path(path, "isolation"), t.plugins[i].isolation, {"none", "process"});
      at_least(child_path(path, "cpu_seconds"), t.plugins[i].cpu_seconds, 1);
      if (t.plugins[i].max_memory_bytes < (64ull << 20))
        fail(child_path(path, "max_memory_bytes"), "must be at least 64 MiB");
    }
    at_least("tools.timeout_ms", t.timeout_ms, 1);
  }

  const Config& config_;
  const ValidationContext& ctx_;
  const PositionMap* positions_;
  std::vector<ConfigIssue>& issues_;
};

}  // namespace

const std::vector<std::string>& builtin_tool_names() {
  static const std::vector<std::string> kNames = {"calculator", "add", "mul", "current_time"};
  return kNames;
}

void check_config(const Config& config, const ValidationContext& ctx, const PositionMap* positions,
                  std::vector<ConfigIssue>& issues) {
  Checker(config, ctx, positions, issues).run();
}

}  // namespace toolgate::config
