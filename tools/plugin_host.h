#pragma once
// The child side of process isolation: `toolgate --plugin-host PATH SETTINGS_JSON` runs this
// with the socket to the server on fd 3 (kPluginHostFd). It loads the plugin in-process (as
// isolation: none would), sends a hello frame with the plugin's name and tool specs (or the
// load error), then answers call frames one at a time until the server closes the socket.
//
//   hello  host -> server  {"ok":true,"name":N,"tools":[{name,description,parameters}]}
//                          {"ok":false,"error":"..."}
//   call   server -> host  {"tool":NAME,"arguments":{...}}
//   result host -> server  {"ok":true,"value":V} | {"ok":false,"error":"..."}
#include <string>

namespace toolgate::tools {

inline constexpr int kPluginHostFd = 3;

// Returns the process exit code (0 when the server closed the socket).
int run_plugin_host(int fd, const std::string& plugin_path, const std::string& settings_json);

}  // namespace toolgate::tools
