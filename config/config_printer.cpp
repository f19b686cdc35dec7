#include "config/config_printer.h"

#include <charconv>
#include <sstream>

#include "config/byte_size.h"
#include "config/env_expansion.h"

namespace toolgate::config {
namespace {

// Every string is double-quoted: no YAML plain-scalar surprises (yes, 1e3, ~, "a: b"), and
// "${" is escaped so that reloading does not expand what was already expanded (except in
// values the loader does not expand: expand = false).
std::string str(const std::string& raw, bool expanded_on_load = true) {
  const std::string s = expanded_on_load ? escape_env(raw) : raw;
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        if (c < 0x20 || c == 0x7f) {
          static const char* kHex = "0123456789abcdef";
          out += "\\x";
          out += kHex[c >> 4];
          out += kHex[c & 15];
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

std::string num(double v) {
  char buf[64];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);  // shortest exact form
  return ec == std::errc() ? std::string(buf, end) : std::to_string(v);
}

std::string boolean(bool b) { return b ? "true" : "false"; }

std::string list(const std::vector<std::string>& items, bool mask = false) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i) out += ", ";
    out += str(mask ? "***" : items[i]);
  }
  return out + "]";
}

class Printer {
 public:
  explicit Printer(const PrintOptions& options) : options_(options) {}

  std::string print(const Config& c) {
    out_ << "# Effective Toolgate configuration";
    if (!c.source.empty()) out_ << " (from " << c.source << ")";
    out_ << ", defaults filled in.\n";
    print_server(c.server);
    out_ << "logging:\n";
    line(1, "level", str(c.logging.level));
    line(1, "format", str(c.logging.format));
    line(1, "access_log", boolean(c.logging.access_log));
    out_ << "engine:\n";
    print_engine(c.engine, 1);
    out_ << "models:\n";
    for (const auto& m : c.models) print_model(m);
    if (c.models.empty()) out_ << "  []\n";
    print_tools(c.tools);
    out_ << "store:\n";
    line(1, "enabled", boolean(c.store.enabled));
    line(1, "path", str(c.store.path));
    line(1, "retention_days", std::to_string(c.store.retention_days));
    return out_.str();
  }

 private:
  void line(int indent, const std::string& key, const std::string& value) {
    out_ << std::string(2 * indent, ' ') << key << ": " << value << "\n";
  }

  void print_server(const ServerConfig& s) {
    out_ << "server:\n";
    line(1, "host", str(s.host));
    line(1, "port", std::to_string(s.port));
    line(1, "io_threads", std::to_string(s.io_threads));
    line(1, "api_keys", list(s.api_keys, options_.mask_secrets));
    if (s.metrics_auth) line(1, "metrics_auth", "true");
    if (!s.keys.empty()) {
      out_ << "  keys:\n";
      for (const auto& k : s.keys) {
        out_ << "    - name: " << str(k.name) << "\n";
        out_ << "      key: " << str(options_.mask_secrets ? "***" : k.key) << "\n";
        line(3, "models", list(k.models));
        line(3, "requests_per_minute", std::to_string(k.requests_per_minute));
        line(3, "tokens_per_minute", std::to_string(k.tokens_per_minute));
        if (k.admin) line(3, "admin", "true");
      }
    }
    line(1, "cors_origins", list(s.cors_origins));
    line(1, "max_body_bytes", format_byte_size(s.max_body_bytes));
    line(1, "header_timeout_ms", std::to_string(s.header_timeout_ms));
    line(1, "max_header_bytes", format_byte_size(s.max_header_bytes));
    line(1, "max_header_count", std::to_string(s.max_header_count));
    line(1, "idle_timeout_ms", std::to_string(s.idle_timeout_ms));
    line(1, "request_timeout_ms", std::to_string(s.request_timeout_ms));
    line(1, "max_concurrent_requests", std::to_string(s.max_concurrent_requests));
    line(1, "max_queue", std::to_string(s.max_queue));
    line(1, "max_tokens_per_request", std::to_string(s.max_tokens_per_request));
    line(1, "max_tool_rounds", std::to_string(s.max_tool_rounds));
    line(1, "max_schema_bytes", format_byte_size(s.max_schema_bytes));
    line(1, "max_schema_depth", std::to_string(s.max_schema_depth));
    line(1, "web_ui", boolean(s.web_ui));
    if (s.tls) {
      out_ << "  tls:\n";
      line(2, "cert", str(s.tls->cert));
      line(2, "key", str(s.tls->key));
      line(2, "min_version", str(s.tls->min_version));
    }
  }

  void print_engine(const EngineSettings& e, int indent) {
    line(indent, "threads", std::to_string(e.threads));
    if (e.kv_budget_bytes) line(indent, "kv_budget_bytes", format_byte_size(*e.kv_budget_bytes));
    line(indent, "kv_budget_fraction", num(e.kv_budget_fraction));
    line(indent, "block_size", std::to_string(e.block_size));
    line(indent, "kv_dtype", str(e.kv_dtype));
    line(indent, "max_num_seqs", std::to_string(e.max_num_seqs));
    line(indent, "max_tokens_per_step", std::to_string(e.max_tokens_per_step));
    line(indent, "prefix_caching", boolean(e.prefix_caching));
    line(indent, "kv_preallocate", boolean(e.kv_preallocate));
  }

  void print_pool(const UpstreamConfig& u, int in) {
    const std::string pad(static_cast<size_t>(in) * 2, ' ');
    out_ << pad << "members:\n";
    for (const auto& mem : u.members) {
      out_ << pad << "  - base_url: " << str(mem.base_url) << "\n";
      const std::string key = options_.mask_secrets && !mem.api_key.empty() ? "***" : mem.api_key;
      out_ << pad << "    api_key: " << str(key) << "\n";
      out_ << pad << "    weight: " << mem.weight << "\n";
      out_ << pad << "    max_concurrent: " << mem.max_concurrent << "\n";
    }
    line(in, "policy", str(u.policy));
    line(in, "retry_budget", std::to_string(u.retry_budget));
    line(in, "eject_after_failures", std::to_string(u.eject_after_failures));
    line(in, "eject_ms", std::to_string(u.eject_ms));
    line(in, "idle_connections", std::to_string(u.idle_connections));
    line(in, "idle_timeout_ms", std::to_string(u.idle_timeout_ms));
    const auto& h = u.health_check;
    out_ << pad << "health_check:\n";
    line(in + 1, "interval_ms", std::to_string(h.interval_ms));
    line(in + 1, "path", str(h.path));
    line(in + 1, "timeout_ms", std::to_string(h.timeout_ms));
    line(in + 1, "unhealthy_threshold", std::to_string(h.unhealthy_threshold));
    line(in + 1, "healthy_threshold", std::to_string(h.healthy_threshold));
  }

  void print_model(const ModelConfig& m) {
    out_ << "  - id: " << str(m.id) << "\n";
    const int in = 2;
    if (!m.path.empty()) line(in, "path", str(m.path));
    if (m.upstream) {
      const UpstreamConfig& u = *m.upstream;
      out_ << "    upstream:\n";
      line(in + 1, "base_url", str(u.base_url));
      line(in + 1, "api_key", str(options_.mask_secrets && !u.api_key.empty() ? "***" : u.api_key));
      line(in + 1, "model", str(u.model));
      line(in + 1, "timeout_ms", std::to_string(u.timeout_ms));
      line(in + 1, "retries", std::to_string(u.retries));
      if (!u.ca_file.empty()) line(in + 1, "ca_file", str(u.ca_file));
      line(in + 1, "tls_verify", u.tls_verify ? "true" : "false");
      if (!u.members.empty()) print_pool(u, in + 1);
    }
    line(in, "aliases", list(m.aliases));
    line(in, "context_length", std::to_string(m.context_length));
    if (!m.chat_template.empty()) line(in, "chat_template", str(m.chat_template, false));
    if (!m.chat_template_file.empty()) line(in, "chat_template_file", str(m.chat_template_file));
    if (!m.tool_dialect.empty()) line(in, "tool_dialect", str(m.tool_dialect));
    if (!m.constrain_tool_calls) line(in, "constrain_tool_calls", "false");
    print_sampling(m.sampling);
    line(in, "server_tools", list(m.server_tools));
    if (!m.adapters.empty()) {
      out_ << "    adapters:\n";
      for (const AdapterConfig& a : m.adapters) {
        out_ << "      - id: " << str(a.id) << "\n";
        out_ << "        path: " << str(a.path) << "\n";
        out_ << "        scale: " << num(a.scale) << "\n";
      }
    }
    if (!m.draft.empty()) line(in, "draft", str(m.draft));
    if (speculative_mode(m) != "off") {
      out_ << "    speculative:\n";
      line(in + 1, "mode", str(speculative_mode(m)));
      line(in + 1, "max_k", std::to_string(m.speculative.max_k));
      line(in + 1, "ngram_min", std::to_string(m.speculative.ngram_min));
      line(in + 1, "ngram_max", std::to_string(m.speculative.ngram_max));
    }
    if (m.engine) {
      out_ << "    engine:\n";
      print_engine(*m.engine, in + 1);
    }
  }

  void print_sampling(const SamplingDefaults& s) {
    std::ostringstream body;
    auto opt = [&](const char* key, const auto& value) {
      if (value) body << "      " << key << ": " << num(static_cast<double>(*value)) << "\n";
    };
    opt("temperature", s.temperature);
    opt("top_p", s.top_p);
    opt("min_p", s.min_p);
    opt("repetition_penalty", s.repetition_penalty);
    opt("presence_penalty", s.presence_penalty);
    opt("frequency_penalty", s.frequency_penalty);
    if (s.top_k) body << "      top_k: " << *s.top_k << "\n";
    if (s.max_tokens) body << "      max_tokens: " << *s.max_tokens << "\n";
    // Unset sampling values have no default of their own (the engine's apply), so only the set
    // ones are printed.
    if (!body.str().empty()) out_ << "    sampling:\n" << body.str();
  }

  void print_tools(const ToolsConfig& t) {
    out_ << "tools:\n";
    line(1, "builtin", list(t.builtin));
    if (t.plugins.empty()) {
      line(1, "plugins", "[]");
    } else {
      out_ << "  plugins:\n";
      for (const auto& p : t.plugins) {
        out_ << "    - path: " << str(p.path) << "\n";
        // JSON is YAML flow syntax, so the settings go in as they are (with ${ escaped).
        line(3, "settings", p.settings_json.empty() ? "{}" : escape_env(p.settings_json));
        line(3, "isolation", str(p.isolation));
        if (p.isolation == "process") {
          line(3, "cpu_seconds", std::to_string(p.cpu_seconds));
          line(3, "max_memory_bytes", format_byte_size(p.max_memory_bytes));
        }
      }
    }
    line(1, "timeout_ms", std::to_string(t.timeout_ms));
  }

  const PrintOptions& options_;
  std::ostringstream out_;
};

}  // namespace

std::string to_yaml(const Config& config, const PrintOptions& options) {
  return Printer(options).print(config);
}

}  // namespace toolgate::config
