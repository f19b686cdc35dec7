#pragma once
// Toolgate's deployment configuration as plain data. config_loader.h fills these from YAML
// (collecting every problem with file:line:column); cli.h applies command-line overrides;
// config_printer.h writes them back out. Nothing here depends on the engine or the gateway:
// they translate these structs into their own option types.
//
// Every default below is the documented default (config/README.md lists each key).
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace toolgate::config {

// A named API key with its policy (`server.keys[]`). The name is what logs and /metrics show;
// the key itself never appears there.
struct ApiKeyConfig {
  std::string name;
  std::string key;                  // literal or ${ENV_VAR}
  std::vector<std::string> models;  // ids or aliases this key may use; empty = all
  int requests_per_minute = 0;      // 0 = unlimited
  int tokens_per_minute = 0;        // prompt + completion tokens; 0 = unlimited
  bool admin = false;               // may call POST /admin/reload

  bool operator==(const ApiKeyConfig&) const = default;
};

// HTTPS on the listening port (server.tls). Paths are resolved against the config's dir.
struct TlsConfig {
  std::string cert;                 // PEM certificate chain, leaf first
  std::string key;                  // PEM private key matching `cert`
  std::string min_version = "1.2";  // "1.2" or "1.3"

  bool operator==(const TlsConfig&) const = default;
};

struct ServerConfig {
  std::string host = "127.0.0.1";
  int port = 8080;
  int io_threads = 2;
  std::vector<std::string> api_keys;  // literal or ${ENV_VAR}, expanded at load; empty = no auth
  std::vector<std::string> cors_origins;  // empty = no CORS headers; "*" allowed
  uint64_t max_body_bytes = 4ull << 20;   // 4 MiB
  int header_timeout_ms = 10000;
  uint64_t max_header_bytes = 16ull << 10;  // request line + all header fields
  int max_header_count = 100;               // header fields in one request
  int idle_timeout_ms = 60000;
  int request_timeout_ms = 600000;
  int max_concurrent_requests = 64;
  int max_queue = 256;
  int max_tokens_per_request = 4096;
  int max_tool_rounds = 5;
  uint64_t max_schema_bytes = 128ull << 10;  // response_format / strict tool schema text
  int max_schema_depth = 32;                 // nested subschemas in one schema
  bool web_ui = true;  // the built-in chat page at /
  std::vector<ApiKeyConfig> keys;  // named keys with policies, besides api_keys
  bool metrics_auth = false;       // /metrics needs an API key too
  // unset = plain HTTP
  std::optional<TlsConfig> tls;

  bool operator==(const ServerConfig&) const = default;
};

// Stored chat completions (SQLite). Off unless a config turns it on; default.yaml does.
struct StoreConfig {
  bool enabled = false;
  // The database file. A relative path is relative to the working directory (the store is the
  // run's data, not part of the deployment's files), unlike model paths.
  std::string path = "toolgate.db";
  int retention_days = 0;  // 0 = keep forever

  bool operator==(const StoreConfig&) const = default;
};

struct LoggingConfig {
  std::string level = "info";   // trace|debug|info|warn|error|critical|off
  std::string format = "text";  // text|json
  bool access_log = true;

  bool operator==(const LoggingConfig&) const = default;
};

struct EngineSettings {
  int threads = 0;                          // 0 = all cores
  std::optional<uint64_t> kv_budget_bytes;  // "512MiB", "1GB" or an int; unset = use the fraction
  double kv_budget_fraction = 0.1;          // of available RAM, when kv_budget_bytes is unset
  int block_size = 16;                      // tokens per KV block; power of two in 8..256
  std::string kv_dtype = "f16";             // f16|int8|int4
  int max_num_seqs = 32;
  int max_tokens_per_step = 512;
  bool prefix_caching = true;
  bool kv_preallocate = false;  // commit the KV budget at start-up instead of as it fills

  bool operator==(const EngineSettings&) const = default;
};

// Per-model defaults for sampling; a request's own values win. Unset = the engine's default.
struct SamplingDefaults {
  std::optional<double> temperature, top_p, min_p, repetition_penalty, presence_penalty,
      frequency_penalty;
  std::optional<int> top_k, max_tokens;

  bool operator==(const SamplingDefaults&) const = default;
};

// One replica of a pooled upstream (`upstream.members[]`).
struct UpstreamMemberConfig {
  std::string base_url;  // http(s)://host[:port][/v1]
  std::string api_key;   // may be ${ENV_VAR}; empty = the pool's api_key
  int weight = 1;          // weighted_round_robin share; also scales the other policies
  int max_concurrent = 0;  // requests in flight to this member at most; 0 = no limit

  bool operator==(const UpstreamMemberConfig&) const = default;
};

// Active health checks of a pool's members: GET `path` on each member's host every interval.
struct UpstreamHealthCheckConfig {
  int interval_ms = 0;  // 0 = off (passive ejection only)
  std::string path = "/health";  // absolute path on the member's host (e.g. /health, /v1/models)
  int timeout_ms = 1000;
  int unhealthy_threshold = 2;  // consecutive failed checks before a member is taken out
  int healthy_threshold = 1;    // consecutive good checks before it is back

  bool operator==(const UpstreamHealthCheckConfig&) const = default;
};

// A model served by another OpenAI-compatible server; requests are forwarded to it. Either
// one `base_url`, or a pool of `members` balanced by `policy` (upstream_pool.h).
struct UpstreamConfig {
  std::string base_url;  // http(s)://host[:port][/v1]
  std::string api_key;   // may be ${ENV_VAR}
  std::string model;     // remote model name; the loader fills in the model's id when omitted
  int timeout_ms = 600000;
  int retries = 1;
  // https only: a PEM file of CA certificates to trust besides the system's (a private CA or a
  // self-signed server); the loader resolves it against the config's dir.
  std::string ca_file;
  bool tls_verify = true;  // false: accept any certificate (testing only; logged as a warning)
  // Pools (empty members = the single base_url above).
  std::vector<UpstreamMemberConfig> members;
  std::string policy = "least_outstanding";  // least_outstanding|weighted_round_robin|prefix_affinity
  double retry_budget = 0.2;     // retries at most this share of the pool's recent requests (+3)
  int eject_after_failures = 3;  // consecutive connect errors / 5xx before a member is ejected
  int eject_ms = 5000;           // first ejection; doubles per repeat, at most 8x
  // Keep-alive to plain-http members: idle connections kept per member (0 = a new connection
  // per request), each reused only within idle_timeout_ms of its last response (keep it below
  // the members' own keep-alive timeout: 5 s for uvicorn/vLLM).
  int idle_connections = 16;
  int idle_timeout_ms = 4000;
  UpstreamHealthCheckConfig health_check;

  bool operator==(const UpstreamConfig&) const = default;
};

// A LoRA adapter served beside its base model as the model id "<model id>:<adapter id>".
struct AdapterConfig {
  std::string id;    // letters, digits, '.', '_', '-'
  std::string path;  // GGUF LoRA file; resolved like a model path
  double scale = 1.0;

  bool operator==(const AdapterConfig&) const = default;
};

// Speculative decoding of a local model (engine SpeculativeOptions): proposals from another
// model with the same vocabulary (`draft`) or by prompt lookup (`ngram`), verified in one pass.
struct SpeculativeConfig {
  std::string mode;   // off|ngram|draft; empty = "draft" when the model names a draft, else "off"
  int max_k = 8;      // proposed tokens per step at most, 1..32
  int ngram_min = 2;  // prompt lookup: shortest and longest suffix n-gram searched
  int ngram_max = 4;

  bool operator==(const SpeculativeConfig&) const = default;
};

struct ModelConfig {
  std::string id;
  std::string path;  // local GGUF; the loader resolves relative paths against the config's dir
  std::optional<UpstreamConfig> upstream;  // exactly one of path / upstream is set
  std::vector<std::string> aliases;        // other names clients may use for this model
  int context_length = 0;                  // 0 = the model's own
  std::string chat_template;               // override: inline Jinja text
  std::string chat_template_file;          // override: Jinja file (resolved like path)
  std::string tool_dialect;                // override of the tool-call dialect; empty = from GGUF
  bool constrain_tool_calls = true;        // grammar-constrained decoding of tool calls
  SamplingDefaults sampling;
  std::vector<std::string> server_tools;  // tools the server executes itself for this model
  std::vector<AdapterConfig> adapters;    // LoRA adapters on this (local) model
  std::string draft;  // id of another local model with the same vocabulary that drafts for it
  SpeculativeConfig speculative;
  // Per-model engine settings. The loader stores the global `engine` section with this model's
  // keys merged over it, so a consumer never merges again.
  std::optional<EngineSettings> engine;

  bool operator==(const ModelConfig&) const = default;
};

struct ToolsConfig {
  struct Plugin {
    std::string path;           // shared library to dlopen; resolved like a model path
    std::string settings_json;  // the YAML `settings` mapping as compact JSON text ("{}" if none)
    // "none": dlopen()ed into the server; "process": run in a helper process under limits
    // (tools/isolated_plugin.h), so a crash, hang or memory blow-up is only a tool error.
    std::string isolation = "none";
    int cpu_seconds = 60;                    // process: RLIMIT_CPU of the helper over its life
    uint64_t max_memory_bytes = 1ull << 30;  // process: RLIMIT_AS of the helper

    bool operator==(const Plugin&) const = default;
  };
  std::vector<std::string> builtin;  // built-in tools to enable: calculator, add, mul, current_time
  std::vector<Plugin> plugins;
  int timeout_ms = 5000;  // per tool call

  bool operator==(const ToolsConfig&) const = default;
};

struct Config {
  ServerConfig server;
  LoggingConfig logging;
  EngineSettings engine;
  std::vector<ModelConfig> models;
  ToolsConfig tools;
  StoreConfig store;
  std::string source;  // the file it came from ("<command line>" when built from flags alone)

  bool operator==(const Config&) const = default;
};

// Names of the built-in tools (the tools/ registry provides them under these names).
const std::vector<std::string>& builtin_tool_names();

// The effective speculative mode of a model: off, ngram or draft.
inline std::string speculative_mode(const ModelConfig& model) {
  if (!model.speculative.mode.empty()) return model.speculative.mode;
  return model.draft.empty() ? "off" : "draft";
}

// The effective engine settings of a model: its own override, else the global section.
inline const EngineSettings& engine_settings_for(const Config& config, const ModelConfig& model) {
  return model.engine ? *model.engine : config.engine;
}

}  // namespace toolgate::config
