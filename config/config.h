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
  std::string kv_dtype = "f16";             // f16|int8
  int max_num_seqs = 32;
  int max_tokens_per_step = 512;
  bool prefix_caching = true;

  bool operator==(const EngineSettings&) const = default;
};

// Per-model defaults for sampling; a request's own values win. Unset = the engine's default.
struct SamplingDefaults {
  std::optional<double> temperature, top_p, min_p, repetition_penalty, presence_penalty,
      frequency_penalty;
  std::optional<int> top_k, max_tokens;

  bool operator==(const SamplingDefaults&) const = default;
};

// A model served by another OpenAI-compatible server; requests are forwarded to it.
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

  bool operator==(const UpstreamConfig&) const = default;
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

// The effective engine settings of a model: its own override, else the global section.
inline const EngineSettings& engine_settings_for(const Config& config, const ModelConfig& model) {
  return model.engine ? *model.engine : config.engine;
}

}  // namespace toolgate::config
