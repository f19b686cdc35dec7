#pragma once
// Loads tool plugins (shared libraries implementing toolgate_plugin.h) into a registry.
#include <filesystem>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "tools/tool_registry.h"

namespace toolgate::tools {

class PluginLoadError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct LoadedPlugin {
  std::string name;  // as the plugin calls itself
  std::filesystem::path path;
  std::vector<std::string> tool_names;  // added to the registry, in the plugin's order
};

// dlopen()s `path`, initialises the plugin with `settings` (passed as JSON text) and adds all
// its tools to `registry`. Either every tool is added or none is. Throws PluginLoadError with
// a message naming the file and the problem: file missing, not loadable, no
// toolgate_plugin_init symbol, init failure (with the plugin's reason), ABI version mismatch,
// malformed tool specs (bad name, parameters_json not a JSON object), or a tool name already
// in the registry. A path without '/' is searched for like dlopen does (LD_LIBRARY_PATH...).
//
// The library stays loaded while any of its tools is alive, including inside calls abandoned
// at their deadline; the last one out calls the plugin's shutdown and dlclose()s it.
LoadedPlugin load_plugin(ToolRegistry& registry, const std::filesystem::path& path,
                         const nlohmann::json& settings = nlohmann::json::object());

}  // namespace toolgate::tools
