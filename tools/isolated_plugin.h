#pragma once
// Process isolation for a tool plugin (tools.plugins[].isolation: process): the plugin runs in
// a child process — fork + exec of the toolgate binary in plugin-host mode (plugin_host.h) —
// under resource limits (RLIMIT_CPU, RLIMIT_AS, PR_SET_NO_NEW_PRIVS, killed with the server).
// A plugin that crashes, hangs past the call deadline or exhausts its memory takes only its
// host down: the call becomes a tool error result, the host is started again for the next call
// (after a back-off that doubles with each consecutive failure), and the server goes on.
//
// Calls to one isolated plugin run one at a time (one host process per plugin).
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "tools/plugin_loader.h"
#include "tools/tool_registry.h"

namespace toolgate::tools {

struct PluginIsolation {
  std::filesystem::path host_binary;   // the toolgate executable (/proc/self/exe in the server)
  int cpu_seconds = 60;                // RLIMIT_CPU of the host process, over its whole life
  uint64_t memory_bytes = 1ull << 30;  // RLIMIT_AS of the host process; 0 = none
  std::chrono::milliseconds call_timeout{10'000};   // past this the host is killed
  std::chrono::milliseconds start_timeout{10'000};  // for the hello after exec
  std::chrono::milliseconds first_backoff{250};     // before the first restart; doubles
  std::chrono::milliseconds max_backoff{30'000};
};

// Starts the host, reads the plugin's tools and adds them to `registry` (all or none). Throws
// PluginLoadError naming the file: the plugin's own load error as the host reports it, or the
// host dying or staying silent before its hello.
LoadedPlugin load_isolated_plugin(ToolRegistry& registry, const std::filesystem::path& path,
                                  const nlohmann::json& settings, const PluginIsolation& isolation);

}  // namespace toolgate::tools
