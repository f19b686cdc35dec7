// toolgate: reads the deployment config, loads the models and serves the OpenAI-compatible API
// until SIGINT/SIGTERM.
//   toolgate --config config/default.yaml
//   toolgate --model models/SmolLM2-135M-Instruct-Q4_1.gguf --port 8080
//   toolgate export --config config/default.yaml --out data/   (stored completions → JSONL)
//   toolgate merge-lora BASE.gguf ADAPTER.gguf OUT.gguf          (fold a LoRA into the weights)
// The server listens before the models load, so /health answers 503 meanwhile.
#include <spdlog/spdlog.h>

#include <chrono>
#include <filesystem>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/cli.h"
#include "config/config.h"
#include "config/config_loader.h"
#include "config/config_printer.h"
#include "engine/engine.h"
#include "gateway/engine_adapters.h"
#include "gateway/export_command.h"
#include "gateway/merge_lora_command.h"
#include "gateway/load_progress.h"
#include "gateway/options.h"
#include "gateway/registry_toolbox.h"
#include "gateway/server.h"
#include "gateway/upstream_model.h"
#include "gateway/config_reload.h"
#include "gateway/health_checker.h"
#include "gateway/key_policy.h"
#include "gateway/upstream_pool.h"
#include "store/completion_store.h"
#include "store/schema.h"
#include "tools/builtin/builtin_tools.h"
#include "tools/isolated_plugin.h"
#include "tools/plugin_host.h"
#include "tools/plugin_loader.h"
#include "tools/tool_registry.h"

namespace {

namespace cfg = toolgate::config;
namespace gw = toolgate::gateway;
namespace eng = toolgate::engine;

gw::ServerOptions server_options(const cfg::Config& c) {
  gw::ServerOptions o;
  const auto& s = c.server;
  o.host = s.host;
  o.port = static_cast<uint16_t>(s.port);
  o.io_threads = s.io_threads;
  o.api_keys = s.api_keys;
  o.key_policies = gw::make_key_policies(s);
  o.metrics_auth = s.metrics_auth;
  o.cors_origins = s.cors_origins;
  o.max_body_bytes = s.max_body_bytes;
  o.header_timeout = std::chrono::milliseconds(s.header_timeout_ms);
  o.max_header_bytes = static_cast<uint32_t>(std::min<uint64_t>(s.max_header_bytes, 1u << 30));
  o.max_header_count = s.max_header_count;
  if (s.tls) o.tls = gw::ServerTls{s.tls->cert, s.tls->key, s.tls->min_version == "1.3"};
  o.idle_timeout = std::chrono::milliseconds(s.idle_timeout_ms);
  o.request_timeout = std::chrono::milliseconds(s.request_timeout_ms);
  o.max_concurrent_requests = s.max_concurrent_requests;
  o.max_queue = s.max_queue;
  o.max_tokens_per_request = s.max_tokens_per_request;
  o.max_schema_bytes = s.max_schema_bytes;
  o.max_schema_depth = s.max_schema_depth;
  o.max_tool_rounds = s.max_tool_rounds;
  o.tool_timeout = std::chrono::milliseconds(c.tools.timeout_ms);
  o.access_log = c.logging.access_log;
  o.web_ui = s.web_ui;
  return o;
}

eng::EngineOptions engine_options(const cfg::Config& c, const cfg::ModelConfig& m) {
  const cfg::EngineSettings& e = cfg::engine_settings_for(c, m);
  eng::EngineOptions o;
  o.threads = e.threads;
  o.kv_budget_bytes = e.kv_budget_bytes.value_or(0);
  o.kv_budget_fraction = e.kv_budget_fraction;
  o.block_size = e.block_size;
  o.kv_dtype = e.kv_dtype == "int8"   ? eng::KvDtype::Int8
               : e.kv_dtype == "int4" ? eng::KvDtype::Int4
                                      : eng::KvDtype::F16;
  o.max_num_seqs = e.max_num_seqs;
  o.max_tokens_per_step = e.max_tokens_per_step;
  o.prefix_caching = e.prefix_caching;
  o.kv_preallocate = e.kv_preallocate;
  o.context_length = m.context_length;
  o.max_waiting = std::max(o.max_waiting, c.server.max_queue + c.server.max_concurrent_requests);
  for (const auto& a : m.adapters) o.adapters.push_back({a.id, a.path, static_cast<float>(a.scale)});
  const std::string mode = cfg::speculative_mode(m);
  using Mode = eng::SpeculativeOptions::Mode;
  o.speculative.mode = mode == "ngram" ? Mode::Ngram : mode == "draft" ? Mode::Draft : Mode::Off;
  o.speculative.max_k = m.speculative.max_k;
  o.speculative.ngram_min = m.speculative.ngram_min;
  o.speculative.ngram_max = m.speculative.ngram_max;
  // The validator made sure `draft` names a local model of this config.
  for (const cfg::ModelConfig& d : c.models)
    if (!m.draft.empty() && d.id == m.draft) o.speculative.draft_model = d.path;
  return o;
}

gw::SamplingDefaults sampling_defaults(const cfg::SamplingDefaults& s) {
  gw::SamplingDefaults d;
  auto f = [](const std::optional<double>& v) {
    return v ? std::optional<float>(static_cast<float>(*v)) : std::nullopt;
  };
  d.temperature = f(s.temperature);
  d.top_p = f(s.top_p);
  d.min_p = f(s.min_p);
  d.repetition_penalty = f(s.repetition_penalty);
  d.presence_penalty = f(s.presence_penalty);
  d.frequency_penalty = f(s.frequency_penalty);
  d.top_k = s.top_k;
  d.max_tokens = s.max_tokens;
  return d;
}

// spdlog's default pattern, spelled out so it can be restored.
constexpr const char* kTextLogPattern = "[%Y-%m-%d %H:%M:%S.%e] [%^%l%$] %v";

void configure_logging(const cfg::LoggingConfig& l) {
  spdlog::set_level(spdlog::level::from_str(l.level));
  if (l.format == "json") {
    // One JSON object per line for log collectors (messages are plain text without quotes in
    // practice: ids, paths, numbers).
    spdlog::set_pattern(R"({"time":"%Y-%m-%dT%H:%M:%S.%e%z","level":"%l","msg":"%v"})");
  }
}

// Built-ins and plugins named by the config; every model's server_tools must be among them.
void load_tools(const cfg::Config& c, toolgate::tools::ToolRegistry& registry) {
  if (!c.tools.builtin.empty()) toolgate::tools::register_builtin_tools(registry, c.tools.builtin);
  for (const auto& p : c.tools.plugins) {
    auto settings = nlohmann::json::parse(p.settings_json.empty() ? "{}" : p.settings_json);
    toolgate::tools::LoadedPlugin loaded;
    if (p.isolation == "process") {
      toolgate::tools::PluginIsolation iso;
      iso.host_binary = std::filesystem::read_symlink("/proc/self/exe");
      iso.cpu_seconds = p.cpu_seconds;
      iso.memory_bytes = p.max_memory_bytes;
      iso.call_timeout = std::chrono::milliseconds(c.tools.timeout_ms);
      loaded = toolgate::tools::load_isolated_plugin(registry, p.path, settings, iso);
    } else {
      loaded = toolgate::tools::load_plugin(registry, p.path, settings);
    }
    spdlog::info("plugin '{}' from {}: {} tool(s), isolation {}", loaded.name, p.path,
                 loaded.tool_names.size(), p.isolation);
  }
  for (const auto& m : c.models) {
    for (const auto& t : m.server_tools) {
      if (!registry.contains(t))
        throw std::runtime_error("model '" + m.id + "': server tool '" + t +
                                 "' is neither an enabled built-in nor provided by a plugin");
    }
  }
}

int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

int main(int argc, char** argv) {
  // The helper process of an isolated plugin (tools/isolated_plugin.h starts it this way).
  if (argc == 4 && std::string_view(argv[1]) == "--plugin-host")
    return toolgate::tools::run_plugin_host(toolgate::tools::kPluginHostFd, argv[2], argv[3]);
  if (argc > 1 && std::string_view(argv[1]) == "export")
    return gw::run_export_command(argc - 1, argv + 1);
  if (argc > 1 && std::string_view(argv[1]) == "merge-lora")
    return gw::run_merge_lora_command(argc - 1, argv + 1);
  cfg::CliParseResult cli = cfg::parse_cli(argc, argv);
  if (!cli.ok()) {
    for (const auto& e : cli.errors) std::fprintf(stderr, "toolgate: %s\n", e.c_str());
    std::fprintf(stderr, "%s", cfg::cli_help().c_str());
    return 2;
  }
  if (cli.options.help) {
    std::printf("%s", cfg::cli_help().c_str());
    return 0;
  }
  if (cli.options.version) {
    std::printf("toolgate 0.1.0\n");
    return 0;
  }
  cfg::LoadResult loaded = cfg::resolve_config(cli.options);
  if (!loaded.ok()) {
    std::fprintf(stderr, "%s\n", loaded.error_text().c_str());
    return 2;
  }
  const cfg::Config& config = *loaded.config;
  if (cli.options.check_config) {
    std::printf("%s: ok\n", config.source.c_str());
    return 0;
  }
  if (cli.options.print_config) {
    std::printf("%s", cfg::to_yaml(config).c_str());
    return 0;
  }
  configure_logging(config.logging);
  // Upstream models are checked before any local model loads: a config error shows at once.
  std::vector<gw::ServedModel> upstream_models;
  for (const auto& m : config.models) {
    if (!m.upstream) continue;
    try {
      upstream_models.push_back(
          gw::make_upstream_served_model(m, sampling_defaults(m.sampling), unix_now()));
    } catch (const std::exception& e) {
      spdlog::critical("toolgate: {}", e.what());
      return 2;
    }
  }

  // Active health checks of pooled upstreams, on their own thread, for the whole run.
  std::vector<std::shared_ptr<gw::UpstreamPool>> pools;
  for (const auto& sm : upstream_models) pools.push_back(sm.upstream_pool);
  auto health_checker = std::make_unique<gw::HealthChecker>(pools);

  toolgate::tools::ToolRegistry registry;
  try {
    load_tools(config, registry);
  } catch (const std::exception& e) {
    spdlog::critical("toolgate: tools: {}", e.what());
    return 2;
  }
  gw::RegistryToolbox toolbox(registry);
  // The store outlives the Server (declared first): its destructor commits what is queued.
  std::unique_ptr<toolgate::store::CompletionStore> store;
  if (config.store.enabled) {
    try {
      toolgate::store::StoreOptions so;
      so.path = config.store.path;
      so.retention_days = config.store.retention_days;
      store = std::make_unique<toolgate::store::CompletionStore>(so);
      spdlog::info("store: {} (schema version {}, retention {})", so.path,
                   toolgate::store::schema_version_latest(),
                   so.retention_days > 0 ? std::to_string(so.retention_days) + " days" : "none");
    } catch (const std::exception& e) {
      spdlog::critical("toolgate: {}", e.what());
      return 2;
    }
  }
  std::vector<std::unique_ptr<eng::Engine>> engines;
  int rc = 0;
  try {
    gw::ServerOptions options = server_options(config);
    options.store = store.get();
    gw::Server server(options, {}, &toolbox);
    server.start();  // /health answers 503 while the models load
    // Models become available one by one, in config order: upstream ones at once, local ones as
    // each finishes loading. Until then, requests naming them get 503 model_loading.
    std::vector<std::optional<gw::ServedModel>> slots(config.models.size());
    // The LoRA adapters of model i, each its own model id on model i's engine.
    std::vector<std::vector<gw::ServedModel>> adapter_slots(config.models.size());
    auto publish = [&] {
      std::vector<gw::ServedModel> ready;
      std::vector<std::string> loading;
      for (size_t i = 0; i < slots.size(); ++i) {
        if (slots[i]) {
          ready.push_back(*slots[i]);
          ready.insert(ready.end(), adapter_slots[i].begin(), adapter_slots[i].end());
        } else {
          loading.push_back(config.models[i].id);
          loading.insert(loading.end(), config.models[i].aliases.begin(),
                         config.models[i].aliases.end());
          for (const auto& a : config.models[i].adapters)
            loading.push_back(config.models[i].id + ":" + a.id);
        }
      }
      server.publish_models(std::move(ready), std::move(loading));
    };
    auto next_upstream = upstream_models.begin();
    for (size_t i = 0; i < config.models.size(); ++i) {
      const auto& m = config.models[i];
      if (!m.upstream) continue;
      if (m.upstream->members.empty()) {
        spdlog::info("model '{}' is forwarded to {} as '{}'", m.id, m.upstream->base_url,
                     m.upstream->model);
      } else {
        spdlog::info("model '{}' is forwarded to a pool of {} ({}) as '{}'", m.id,
                     m.upstream->members.size(), m.upstream->policy, m.upstream->model);
      }
      slots[i] = std::move(*next_upstream++);
    }
    publish();
    // A progress bar on a terminal (the default logger writes to stdout); nothing otherwise.
    const bool bar_on_terminal = config.logging.format == "text" && gw::is_terminal(stdout);
    // Log lines from other threads (access log) may arrive while the bar is drawn: each starts
    // by erasing the bar's line, and the bar is redrawn on its next update.
    if (bar_on_terminal) spdlog::set_pattern("\r\033[K" + std::string(kTextLogPattern));
    for (size_t i = 0; i < config.models.size(); ++i) {
      const auto& m = config.models[i];
      if (m.upstream) continue;
      spdlog::info("loading model '{}' from {}", m.id, m.path);
      auto started = std::chrono::steady_clock::now();
      eng::EngineOptions options = engine_options(config, m);
      gw::LoadProgressBar bar(m.id, stdout, bar_on_terminal);
      options.on_load_progress = [&bar](const eng::LoadProgress& p) { bar.update(p); };
      try {
        engines.push_back(eng::Engine::create(m.path, options));
      } catch (const std::exception& e) {
        if (m.draft.empty()) throw;
        throw std::runtime_error("model '" + m.id + "' with draft model '" + m.draft +
                                 "': " + e.what());
      }
      bar.finish();
      eng::Engine& engine = *engines.back();
      gw::ServedModel sm;
      sm.id = m.id;
      sm.aliases = m.aliases;
      sm.engine = &engine;
      std::optional<std::string> template_override;
      if (!m.chat_template.empty()) template_override = m.chat_template;
      if (!m.chat_template_file.empty())
        template_override = gw::read_text_file(m.chat_template_file);
      sm.renderer = gw::make_chat_template_renderer(engine, template_override);
      sm.tool_syntax = gw::make_tool_call_syntax(
          engine,
          m.tool_dialect.empty() ? std::nullopt : std::optional<std::string>(m.tool_dialect));
      sm.constraints = gw::make_reply_constraints(
          engine,
          m.tool_dialect.empty() ? std::nullopt : std::optional<std::string>(m.tool_dialect));
      sm.constrain_tool_calls = m.constrain_tool_calls;
      sm.sampling = sampling_defaults(m.sampling);
      sm.server_tools = m.server_tools;
      sm.created = unix_now();
      const auto& info = engine.model();
      spdlog::info(
          "model '{}' ready in {:.1f} s: {} ({}, context {}, tool calls: {})", sm.id,
          std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count(),
          info.name, info.architecture, info.context_length,
          !sm.tool_syntax                ? "not parsed"
          : sm.constrain_tool_calls ? "parsed, constrained"
                                    : "parsed");
      // Memory: weights are mapped from the file and read in at load (page cache, shared with
      // other processes mapping the same file); the KV arena is reserved up front.
      const auto st = engine.stats();
      spdlog::info("model '{}' memory: weights {:.0f} MiB ({:.1f} B params, mapped), KV cache "
                   "{:.0f} MiB reserved ({} blocks)",
                   sm.id, static_cast<double>(info.weight_bytes) / (1 << 20),
                   static_cast<double>(info.n_params) / 1e9,
                   static_cast<double>(st.kv_bytes) / (1 << 20), st.kv_blocks_total);
      for (const auto& a : info.adapters) {
        gw::ServedModel am = sm;
        am.id = sm.id + ":" + a.id;
        am.aliases.clear();
        am.adapter = a.id;
        am.parent = sm.id;
        spdlog::info("model '{}': LoRA adapter {} ({:.1f} MiB, scale {})", am.id, a.path,
                     static_cast<double>(a.bytes) / (1 << 20), a.scale);
        adapter_slots[i].push_back(std::move(am));
      }
      if (options.speculative.mode != eng::SpeculativeOptions::Mode::Off)
        spdlog::info("model '{}' speculative decoding: {}{} (up to {} tokens per step)", sm.id,
                     cfg::speculative_mode(m), m.draft.empty() ? "" : " with '" + m.draft + "'",
                     options.speculative.max_k);
      slots[i] = std::move(sm);
      publish();
    }
    if (bar_on_terminal) spdlog::set_pattern(kTextLogPattern);
    // Live reload (SIGHUP, POST /admin/reload): re-read and check the whole config, then swap
    // upstream pools and keys; local models stay loaded (config_reload.h). In-flight requests
    // keep the catalog and keys they started with.
    std::mutex reload_mu;
    cfg::Config current = config;
    server.set_reload_handler([&]() -> std::vector<std::string> {
      std::lock_guard lock(reload_mu);
      cfg::LoadResult next = cfg::resolve_config(cli.options);
      std::vector<std::string> problems;
      if (!next.ok()) {
        for (const auto& issue : next.issues) problems.push_back(issue.to_string());
      } else {
        gw::ReloadPlan plan = gw::plan_reload(current, *next.config, &sampling_defaults);
        problems = std::move(plan.problems);
        if (problems.empty()) {
          std::vector<gw::ServedModel> ready;
          std::vector<std::shared_ptr<gw::UpstreamPool>> new_pools;
          auto next_upstream = plan.upstream_models.begin();
          for (const auto& m : next.config->models) {
            if (m.upstream) {
              new_pools.push_back(next_upstream->upstream_pool);
              ready.push_back(std::move(*next_upstream++));
              continue;
            }
            for (const auto& slot : slots)
              if (slot && slot->id == m.id) ready.push_back(*slot);
          }
          server.publish_models(std::move(ready));
          server.replace_keys(std::move(plan.api_keys), std::move(plan.key_policies));
          health_checker.reset();
          health_checker = std::make_unique<gw::HealthChecker>(new_pools);
          spdlog::info("config reloaded from {} ({} models)", next.config->source,
                       next.config->models.size());
          current = std::move(*next.config);
          return {};
        }
      }
      spdlog::error("config reload refused ({} problem(s)); the old config keeps serving",
                    problems.size());
      for (const auto& p : problems) spdlog::error("  {}", p);
      return problems;
    });
    server.run();
  } catch (const std::exception& e) {
    spdlog::critical("toolgate: {}", e.what());
    rc = 1;
  }
  // The Server is gone (run() returned, or the unwind destroyed it): no engine callback can
  // reach a session any more, so the engines may stop now.
  for (auto& e : engines) e->shutdown();
  return rc;
}
