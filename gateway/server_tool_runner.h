#pragma once
// Runs one round of server tool calls through the ServerToolbox: the part of the tool loop that
// local and upstream models share, so a call behaves the same whoever generated it. Blocking
// (tools may take up to their timeout): call it on a worker thread, never on an I/O thread.
#include <chrono>
#include <string>
#include <vector>

#include "gateway/chat_request.h"
#include "gateway/chat_response.h"

namespace toolgate::gateway {

class ServerToolbox;

// One ToolRun per call, in order. Arguments that are not a JSON object (a model's malformed
// output) become the tool's error result, as does an exception from the tool: the model sees
// the error text and the request goes on. Each run is logged with `log_prefix` (the request).
std::vector<ToolRun> run_server_tool_calls(const ServerToolbox& toolbox,
                                           const std::vector<ToolCall>& calls, int round,
                                           std::chrono::milliseconds timeout,
                                           const std::string& log_prefix);

}  // namespace toolgate::gateway
