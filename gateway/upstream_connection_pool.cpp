#include "gateway/upstream_connection_pool.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

namespace toolgate::gateway {

bool idle_connection_alive(int fd) {
  char byte;
  const ssize_t n = ::recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  // 0: the member closed it; > 0: bytes nobody asked for (an error page, a close notice), which
  // would be read as the next response; < 0 other than "nothing to read": reset.
  return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

UpstreamConnectionPool::UpstreamConnectionPool(size_t max_idle,
                                               std::chrono::milliseconds idle_timeout)
    : max_idle_(max_idle), idle_timeout_(idle_timeout) {}

UpstreamConnectionPool::~UpstreamConnectionPool() {
  for (const Idle& i : idle_) ::close(i.c.fd);
}

void UpstreamConnectionPool::close_expired(Clock::time_point now) {
  size_t expired = 0;
  while (expired < idle_.size() && now - idle_[expired].since >= idle_timeout_) {
    ::close(idle_[expired].c.fd);
    ++expired;
  }
  idle_.erase(idle_.begin(), idle_.begin() + static_cast<std::ptrdiff_t>(expired));
}

std::optional<UpstreamConnectionPool::Connection> UpstreamConnectionPool::take(
    Clock::time_point now) {
  std::lock_guard lock(mu_);
  close_expired(now);
  while (!idle_.empty()) {
    Connection c = idle_.back().c;
    idle_.pop_back();
    if (idle_connection_alive(c.fd)) {
      ++reused_;
      return c;
    }
    ::close(c.fd);
  }
  return std::nullopt;
}

void UpstreamConnectionPool::give_back(Connection c, Clock::time_point now) {
  std::lock_guard lock(mu_);
  close_expired(now);
  if (max_idle_ == 0) {
    ::close(c.fd);
    return;
  }
  if (idle_.size() >= max_idle_) {
    ::close(idle_.front().c.fd);
    idle_.erase(idle_.begin());
  }
  idle_.push_back({c, now});
  ++returned_;
}

size_t UpstreamConnectionPool::idle() const {
  std::lock_guard lock(mu_);
  return idle_.size();
}

uint64_t UpstreamConnectionPool::reused() const {
  std::lock_guard lock(mu_);
  return reused_;
}

uint64_t UpstreamConnectionPool::returned() const {
  std::lock_guard lock(mu_);
  return returned_;
}

}  // namespace toolgate::gateway
