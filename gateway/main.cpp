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
#include <map>
#include <mutex>
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
#include "gateway/local_models.h"
#include "gateway/engine_reaper.h"
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
          gw::make_upstream_served_model(m, gw::sampling_defaults(m.sampling), unix_now()));
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
  // Engines are shared by the catalogs that serve them (and so by in-flight requests); the
  // reaper destroys released ones off their own thread. Declared before everything that holds
  // engines, so it is destroyed last.
  gw::EngineReaper reaper;
  struct RunningLocal {
    std::shared_ptr<eng::Engine> engine;
    gw::LocalEngineSpec spec;  // what it was loaded from
    int64_t created = 0;       // kept across reloads: /v1/models shows when it was loaded
  };
  std::map<std::string, RunningLocal> running;  // local models by id; changed only by reloads
  int rc = 0;
  try {
    gw::ServerOptions options = server_options(config);
    options.store = store.get();
    gw::Server server(options, {}, &toolbox);
    server.start();  // /health answers 503 while the models load
    // Models become available one by one, in config order: upstream ones at once, local ones as
    // each finishes loading. Until then, requests naming them get 503 model_loading.
    // Slot i: model i served (a local one with one more per LoRA adapter), once ready.
    std::vector<std::optional<std::vector<gw::ServedModel>>> slots(config.models.size());
    auto publish = [&] {
      std::vector<gw::ServedModel> ready;
      std::vector<std::string> loading;
      for (size_t i = 0; i < slots.size(); ++i) {
        if (slots[i]) {
          ready.insert(ready.end(), slots[i]->begin(), slots[i]->end());
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
      slots[i] = std::vector<gw::ServedModel>{std::move(*next_upstream++)};
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
      gw::LoadedEngine loaded = gw::load_local_engine(config, m, reaper, stdout, bar_on_terminal);
      const int64_t created = unix_now();
      slots[i] = gw::serve_local_model(m, loaded.engine, created);
      running[m.id] = {loaded.engine, std::move(loaded.spec), created};
      publish();
    }
    if (bar_on_terminal) spdlog::set_pattern(kTextLogPattern);
    // Live reload (SIGHUP, POST /admin/reload), on the server's reload thread (one at a time;
    // reload_mu guards `running` and `current` all the same): re-read and check the whole
    // config, load added and changed local models, then swap the catalog, pools and keys at
    // once (config_reload.h). In-flight requests keep the catalog, engines and keys they
    // started with.
    std::mutex reload_mu;
    cfg::Config current = config;
    server.set_reload_handler([&]() -> std::vector<std::string> {
      std::lock_guard lock(reload_mu);
      cfg::LoadResult next = cfg::resolve_config(cli.options);
      std::vector<std::string> problems;
      if (!next.ok()) {
        for (const auto& issue : next.issues) problems.push_back(issue.to_string());
      } else {
        const cfg::Config& nc = *next.config;
        std::map<std::string, gw::LocalEngineSpec> running_specs;
        for (const auto& [id, r] : running) running_specs.emplace(id, r.spec);
        gw::ReloadPlan plan = gw::plan_reload(current, nc, running_specs, &gw::sampling_defaults);
        problems = std::move(plan.problems);
        for (const auto& m : nc.models)
          for (const auto& t : m.server_tools)
            if (!registry.contains(t))
              problems.push_back("model '" + m.id + "': server tool '" + t +
                                 "' is neither an enabled built-in nor provided by a plugin");
        // Added and changed local models load before anything is swapped; the old config
        // serves meanwhile. A failed load drops what was loaded (the reaper frees it).
        std::map<std::string, gw::LoadedEngine> loaded;
        for (const auto& id : plan.load_local) {
          if (!problems.empty()) break;
          for (const auto& m : nc.models) {
            if (m.id != id) continue;
            try {
              loaded.emplace(id, gw::load_local_engine(nc, m, reaper, stdout, false));
            } catch (const std::exception& e) {
              problems.push_back(e.what());
            }
          }
        }
        std::vector<gw::ServedModel> ready;
        std::map<std::string, RunningLocal> next_running;
        if (problems.empty()) {
          auto next_upstream = plan.upstream_models.begin();
          for (const auto& m : nc.models) {
            if (m.upstream) {
              ready.push_back(std::move(*next_upstream++));
              continue;
            }
            RunningLocal r;
            if (auto l = loaded.find(m.id); l != loaded.end()) {
              r = {l->second.engine, l->second.spec, unix_now()};
            } else {
              r = running.at(m.id);  // unchanged: the same engine, settings re-applied
            }
            try {
              auto served = gw::serve_local_model(m, r.engine, r.created);
              ready.insert(ready.end(), served.begin(), served.end());
            } catch (const std::exception& e) {
              problems.push_back("model '" + m.id + "': " + e.what());
            }
            next_running.emplace(m.id, std::move(r));
          }
        }
        if (problems.empty()) {
          std::vector<std::shared_ptr<gw::UpstreamPool>> new_pools;
          for (const auto& sm : ready)
            if (sm.upstream_pool) new_pools.push_back(sm.upstream_pool);
          server.publish_models(std::move(ready));
          server.replace_keys(std::move(plan.api_keys), std::move(plan.key_policies));
          health_checker.reset();
          health_checker = std::make_unique<gw::HealthChecker>(new_pools);
          // Engines the new catalog no longer names are freed when their last request ends.
          running = std::move(next_running);
          spdlog::info(
              "config reloaded from {} ({} models; local: {} kept, {} loaded, {} released)",
              nc.source, nc.models.size(), plan.kept_local.size(), plan.load_local.size(),
              plan.released_local.size());
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
  // reach a session any more, so the engines may stop now (the reaper stops and frees them).
  running.clear();
  return rc;
}
