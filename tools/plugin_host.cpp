#include "tools/plugin_host.h"

#include <csignal>

#include "tools/plugin_frames.h"
#include "tools/plugin_loader.h"
#include "tools/tool_registry.h"

namespace toolgate::tools {

using nlohmann::json;

int run_plugin_host(int fd, const std::string& plugin_path, const std::string& settings_json) {
  std::signal(SIGPIPE, SIG_IGN);
  ToolRegistry registry;
  json hello;
  try {
    json settings = json::parse(settings_json.empty() ? "{}" : settings_json);
    LoadedPlugin loaded = load_plugin(registry, plugin_path, settings);
    json tools = json::array();
    for (const ToolSpec* spec : registry.list())
      tools.push_back({{"name", spec->name},
                       {"description", spec->description},
                       {"parameters", spec->parameters}});
    hello = {{"ok", true}, {"name", loaded.name}, {"tools", std::move(tools)}};
  } catch (const std::exception& e) {
    write_frame(fd, {{"ok", false}, {"error", e.what()}});
    return 1;
  }
  if (!write_frame(fd, hello)) return 1;
  for (;;) {
    json call;
    FrameRead r = read_frame(fd, call);
    if (r == FrameRead::kClosed) return 0;
    if (r != FrameRead::kOk || !call.is_object() || !call.contains("tool")) return 2;
    // No deadline here: the server keeps the clock and kills this process when it runs out.
    ToolResult result =
        registry.invoke(call.value("tool", ""), call.value("arguments", json::object()),
                        std::chrono::milliseconds(0));
    json reply = result.ok ? json{{"ok", true}, {"value", std::move(result.value)}}
                           : json{{"ok", false}, {"error", result.error}};
    if (!write_frame(fd, reply)) return 0;
  }
}

}  // namespace toolgate::tools
