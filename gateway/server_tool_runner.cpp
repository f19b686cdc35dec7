#include "gateway/server_tool_runner.h"

#include <spdlog/spdlog.h>

#include "gateway/server_toolbox.h"

namespace toolgate::gateway {

std::vector<ToolRun> run_server_tool_calls(const ServerToolbox& toolbox,
                                           const std::vector<ToolCall>& calls, int round,
                                           std::chrono::milliseconds timeout,
                                           const std::string& log_prefix) {
  using Clock = std::chrono::steady_clock;
  std::vector<ToolRun> runs;
  runs.reserve(calls.size());
  for (const auto& call : calls) {
    auto started = Clock::now();
    ToolRun run{call.id, call.name, call.arguments, false, "", round};
    auto args = nlohmann::json::parse(call.arguments.empty() ? "{}" : call.arguments, nullptr,
                                      /*allow_exceptions=*/false);
    if (args.is_discarded() || !args.is_object()) {
      run.output = "error: the arguments are not a JSON object";
    } else {
      try {
        ServerToolOutcome out = toolbox.invoke(call.name, args, timeout);
        run.ok = out.ok;
        run.output =
            out.ok ? out.content : (out.content.empty() ? "error: " + out.error : out.content);
      } catch (const std::exception& e) {
        run.output = std::string("error: ") + e.what();
      }
    }
    spdlog::info("{} tool={} call={} round={} ok={} ms={:.1f}", log_prefix, run.name, run.id, round,
                 run.ok, std::chrono::duration<double, std::milli>(Clock::now() - started).count());
    runs.push_back(std::move(run));
  }
  return runs;
}

}  // namespace toolgate::gateway
