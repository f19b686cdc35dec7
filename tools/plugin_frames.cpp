#include "tools/plugin_frames.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

namespace toolgate::tools {

using Clock = std::chrono::steady_clock;

bool write_frame(int fd, const nlohmann::json& message) {
  const std::string body = message.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (body.size() > kMaxPluginFrameBytes) return false;
  const uint32_t n = static_cast<uint32_t>(body.size());
  std::string data = {char(n >> 24), char(n >> 16), char(n >> 8), char(n)};
  data += body;
  size_t sent = 0;
  while (sent < data.size()) {
    ssize_t k = ::send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) return false;
    sent += static_cast<size_t>(k);
  }
  return true;
}

namespace {

// Reads exactly `n` bytes before `deadline` (nullopt = none).
FrameRead read_exactly(int fd, char* buf, size_t n, std::optional<Clock::time_point> deadline) {
  size_t got = 0;
  while (got < n) {
    int wait_ms = -1;
    if (deadline) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(*deadline - Clock::now());
      if (left.count() <= 0) return FrameRead::kTimedOut;
      wait_ms = static_cast<int>(std::min<int64_t>(left.count(), 1 << 30));
    }
    pollfd p{fd, POLLIN, 0};
    int r = ::poll(&p, 1, wait_ms);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return FrameRead::kClosed;
    if (r == 0) return FrameRead::kTimedOut;
    ssize_t k = ::read(fd, buf + got, n - got);
    if (k < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (k <= 0) return FrameRead::kClosed;
    got += static_cast<size_t>(k);
  }
  return FrameRead::kOk;
}

}  // namespace

FrameRead read_frame(int fd, nlohmann::json& out, std::chrono::milliseconds timeout) {
  std::optional<Clock::time_point> deadline;
  if (timeout.count() >= 0) deadline = Clock::now() + timeout;
  unsigned char head[4];
  if (auto r = read_exactly(fd, reinterpret_cast<char*>(head), 4, deadline); r != FrameRead::kOk)
    return r;
  const uint32_t n = (uint32_t(head[0]) << 24) | (uint32_t(head[1]) << 16) |
                     (uint32_t(head[2]) << 8) | uint32_t(head[3]);
  if (n > kMaxPluginFrameBytes) return FrameRead::kMalformed;
  std::string body(n, '\0');
  if (auto r = read_exactly(fd, body.data(), n, deadline); r != FrameRead::kOk) return r;
  out = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  return out.is_discarded() ? FrameRead::kMalformed : FrameRead::kOk;
}

}  // namespace toolgate::tools
