#include "tools/plugin_loader.h"

#include <dlfcn.h>

#include <memory>
#include <set>

#include "tools/json_schema.h"
#include "tools/toolgate_plugin.h"

namespace toolgate::tools {
namespace {

using nlohmann::json;

constexpr std::size_t kMaxToolsPerPlugin = 1024;

// Owns the dlopen handle and the plugin's state; shared by all of the plugin's tools.
class PluginLibrary {
 public:
  PluginLibrary(void* handle, const toolgate_plugin* plugin) : handle_(handle), plugin_(plugin) {}
  ~PluginLibrary() {
    if (plugin_ && plugin_->shutdown) plugin_->shutdown(plugin_->state);
    dlclose(handle_);
  }
  PluginLibrary(const PluginLibrary&) = delete;
  PluginLibrary& operator=(const PluginLibrary&) = delete;

  const toolgate_plugin& plugin() const { return *plugin_; }

 private:
  void* handle_;
  const toolgate_plugin* plugin_;
};

class PluginTool final : public Tool {
 public:
  PluginTool(std::shared_ptr<PluginLibrary> library, ToolSpec spec)
      : library_(std::move(library)), spec_(std::move(spec)) {}

  const ToolSpec& spec() const override { return spec_; }

  json invoke(const json& arguments) override {
    const toolgate_plugin& p = library_->plugin();
    const std::string args = arguments.dump(-1, ' ', false, json::error_handler_t::replace);
    char* raw = nullptr;
    const int rc = p.invoke(p.state, spec_.name.c_str(), args.c_str(), &raw);
    // Copy and release at once so nothing below can leak the plugin's string.
    const bool have_output = raw != nullptr;
    std::string output = have_output ? std::string(raw) : std::string();
    if (have_output) p.free_string(p.state, raw);

    if (rc != TOOLGATE_PLUGIN_OK) {
      throw std::runtime_error(have_output ? output : "plugin reported an error without a message");
    }
    if (!have_output) throw std::runtime_error("plugin returned no result");
    try {
      return json::parse(output);
    } catch (const json::exception& e) {
      throw std::runtime_error(std::string("plugin returned invalid JSON: ") + e.what());
    }
  }

 private:
  std::shared_ptr<PluginLibrary> library_;
  ToolSpec spec_;
};

std::string last_dl_error() {
  const char* e = dlerror();
  return e ? e : "unknown error";
}

}  // namespace

LoadedPlugin load_plugin(ToolRegistry& registry, const std::filesystem::path& path,
                         const nlohmann::json& settings) {
  const std::string where = "plugin " + path.string();
  auto fail = [&](const std::string& why) { return PluginLoadError(where + ": " + why); };

  if (path.string().find('/') != std::string::npos) {
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) throw fail("file not found");
  }
  dlerror();  // clear any stale error
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) throw fail("cannot load library: " + last_dl_error());

  dlerror();
  auto init = reinterpret_cast<toolgate_plugin_init_fn>(dlsym(handle, TOOLGATE_PLUGIN_INIT_SYMBOL));
  if (!init) {
    dlclose(handle);
    throw fail("not a toolgate plugin: it does not export " TOOLGATE_PLUGIN_INIT_SYMBOL);
  }

  std::string settings_text;
  try {
    settings_text = settings.is_null() ? "{}" : settings.dump();
  } catch (const json::exception& e) {
    dlclose(handle);
    throw fail(std::string("settings cannot be serialised: ") + e.what());
  }
  char error[1024] = {};
  const toolgate_plugin* plugin = nullptr;
  try {
    plugin = init(TOOLGATE_PLUGIN_ABI_VERSION, settings_text.c_str(), error, sizeof error);
  } catch (...) {  // a C++ plugin that broke the no-exceptions rule
    dlclose(handle);
    throw fail("initialisation threw an exception");
  }
  if (!plugin) {
    dlclose(handle);
    error[sizeof error - 1] = '\0';
    throw fail(std::string("initialisation failed: ") + (error[0] ? error : "no reason given"));
  }
  if (plugin->abi_version != TOOLGATE_PLUGIN_ABI_VERSION) {
    // The rest of the struct has an unknown layout, so not even shutdown can be called.
    const auto version = plugin->abi_version;
    dlclose(handle);
    throw fail("ABI version mismatch: plugin implements version " + std::to_string(version) +
               ", this server implements version " + std::to_string(TOOLGATE_PLUGIN_ABI_VERSION));
  }
  // From here on the library owns the handle: any failure unloads it properly.
  auto library = std::make_shared<PluginLibrary>(handle, plugin);

  if (!plugin->invoke || !plugin->free_string) throw fail("invoke or free_string is NULL");
  if (plugin->tool_count > kMaxToolsPerPlugin) {
    throw fail("declares " + std::to_string(plugin->tool_count) + " tools (limit " +
               std::to_string(kMaxToolsPerPlugin) + ")");
  }
  if (plugin->tool_count > 0 && !plugin->tools) throw fail("tools is NULL");

  LoadedPlugin loaded;
  loaded.name = plugin->name ? plugin->name : path.stem().string();
  loaded.path = path;
  std::vector<ToolSpec> specs;
  std::set<std::string> seen;
  for (std::size_t i = 0; i < plugin->tool_count; ++i) {
    const toolgate_tool_spec& raw = plugin->tools[i];
    ToolSpec spec;
    if (!raw.name || !is_valid_tool_name(raw.name)) {
      throw fail("tool #" + std::to_string(i) + " has an invalid name '" +
                 (raw.name ? raw.name : "(null)") + "' (must match [A-Za-z0-9_-]{1,64})");
    }
    spec.name = raw.name;
    spec.description = raw.description ? raw.description : "";
    if (!raw.parameters_json) throw fail("tool '" + spec.name + "': parameters_json is NULL");
    try {
      spec.parameters = json::parse(raw.parameters_json);
    } catch (const json::exception& e) {
      throw fail("tool '" + spec.name + "': parameters_json is not valid JSON: " + e.what());
    }
    if (!spec.parameters.is_object()) {
      throw fail("tool '" + spec.name + "': parameters_json must be a JSON schema object, got " +
                 json_type_name(spec.parameters));
    }
    if (!seen.insert(spec.name).second) throw fail("declares tool '" + spec.name + "' twice");
    if (registry.contains(spec.name)) {
      throw fail("tool '" + spec.name + "' is already registered");
    }
    specs.push_back(std::move(spec));
  }
  for (auto& spec : specs) {
    loaded.tool_names.push_back(spec.name);
    registry.add(std::make_unique<PluginTool>(library, std::move(spec)));
  }
  return loaded;
}

}  // namespace toolgate::tools
