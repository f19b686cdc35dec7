#pragma once
// Plain option structs the gateway is built from. main() maps the YAML config (config/) onto
// these; tests build them by hand. Nothing here depends on Beast.
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace toolgate::engine {
class Engine;
}

namespace toolgate::store {
class CompletionStore;
}

namespace toolgate::gateway {

class PromptRenderer;
class ReplyConstraints;
class ToolCallSyntax;
struct UpstreamTarget;
class UpstreamPool;
class KeyPolicies;

// HTTPS on the listening port. Server::start() loads both files and throws, naming the file,
// when one cannot be read or the key does not match the certificate.
struct ServerTls {
  std::string cert_file;    // PEM chain, leaf first
  std::string key_file;     // PEM private key
  bool tls13_only = false;  // min_version 1.3; otherwise TLS 1.2 and 1.3
};

struct ServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 8080;  // 0 = pick a free port (tests); Server::port() tells which
  int io_threads = 2;
  int worker_threads = 2;                 // prompt rendering/tokenizing and server-tool calls
  std::vector<std::string> api_keys;      // empty (and no key_policies) = open server
  // Named keys with policies (key_policy.h): allowed models, rate limits, usage counters.
  std::shared_ptr<KeyPolicies> key_policies;
  bool metrics_auth = false;  // /metrics needs an API key
  std::vector<std::string> cors_origins;  // "*" allows any origin; empty = no CORS headers
  uint64_t max_body_bytes = 4 << 20;
  std::chrono::milliseconds header_timeout{10'000};    // first request line + headers
  uint32_t max_header_bytes = 16 << 10;                // request line + header fields -> 431
  int max_header_count = 100;                          // header fields in one request -> 431
  std::chrono::milliseconds idle_timeout{60'000};      // keep-alive wait, body read
  std::chrono::milliseconds write_timeout{60'000};     // one write to a slow reader
  std::chrono::milliseconds request_timeout{600'000};  // a whole chat completion; 0 = none
  std::chrono::milliseconds shutdown_grace{5'000};     // streams get this long to finish
  int max_concurrent_requests = 64;                    // chat completions generating at once
  int max_queue = 256;  // chat completions waiting for a slot; beyond -> 429
  int retry_after_seconds = 1;
  int max_tokens_per_request = 4096;
  int max_tool_rounds = 4;
  uint64_t max_schema_bytes = 128 << 10;  // response_format / strict tool schema text
  int max_schema_depth = 32;              // nested subschemas
  std::chrono::milliseconds tool_timeout{10'000};
  bool handle_signals = true;  // run() stops on SIGINT/SIGTERM
  bool access_log = true;      // one info line per request
  // Stored chat completions (`store: true` and the list/retrieve endpoints); null = off. Owned
  // by main(); must outlive the Server.
  store::CompletionStore* store = nullptr;
  bool web_ui = true;  // the built-in chat page at /
  // HTTPS on the port; unset = plain HTTP.
  std::optional<ServerTls> tls;
};

// Per-model sampling defaults (request fields override them).
struct SamplingDefaults {
  std::optional<float> temperature;
  std::optional<float> top_p;
  std::optional<int> top_k;
  std::optional<float> min_p;
  std::optional<float> repetition_penalty;
  std::optional<float> presence_penalty;
  std::optional<float> frequency_penalty;
  std::optional<int> max_tokens;
};

// One model the server answers for.
struct ServedModel {
  std::string id;
  std::vector<std::string> aliases;
  engine::Engine* engine = nullptr;
  // Keeps `engine` alive while a catalog holding this model exists, and so while any request
  // started from that catalog runs: a live reload may drop the model (engine_reaper.h). Null
  // when the engine's owner outlives the Server (tests).
  std::shared_ptr<engine::Engine> engine_owner;
  std::shared_ptr<const PromptRenderer> renderer;     // chat template of this model
  std::shared_ptr<const ToolCallSyntax> tool_syntax;  // null = tool calls are not parsed
  // Constrained decoding (response_format, tool calls); null = the model cannot constrain.
  std::shared_ptr<const ReplyConstraints> constraints;
  bool constrain_tool_calls = true;  // constrain generated calls to their syntax and schemas
  SamplingDefaults sampling;
  std::vector<std::string> server_tools;  // tools the gateway runs itself (ToolRegistry names)
  int64_t created = 0;                    // unix seconds shown in /v1/models
  std::string owned_by = "toolgate";
  // Set for a model served by another OpenAI-compatible server (upstream_target.h): requests
  // are forwarded to it, and engine/renderer/tool_syntax stay null.
  std::shared_ptr<const UpstreamTarget> upstream;
  // A LoRA adapter served as its own model id ("<parent>:<adapter>"): requests run with this
  // adapter of `engine` (shared with the parent). Empty = the base model.
  std::string adapter;
  std::string parent;  // the base model's id, listed by /v1/models
  // The replicas behind an upstream model (upstream_pool.h); `upstream` is its first member,
  // which carries the settings all members share (remote model name, timeout).
  std::shared_ptr<UpstreamPool> upstream_pool;
};

}  // namespace toolgate::gateway
