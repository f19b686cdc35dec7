#pragma once
// The wire format between the server and an isolated plugin's host process (plugin_host.h):
// frames of a 4-byte big-endian length followed by that many bytes of JSON text, over a
// connected AF_UNIX stream socket.
#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace toolgate::tools {

inline constexpr uint32_t kMaxPluginFrameBytes = 64u << 20;

// Writes one frame; false when the peer is gone (never raises SIGPIPE).
bool write_frame(int fd, const nlohmann::json& message);

enum class FrameRead { kOk, kClosed, kTimedOut, kMalformed };

// Reads one frame into `out`, waiting at most `timeout` in all (negative: no deadline).
FrameRead read_frame(int fd, nlohmann::json& out,
                     std::chrono::milliseconds timeout = std::chrono::milliseconds(-1));

}  // namespace toolgate::tools
