#pragma once
// Active health checks of upstream pool members: every `health_interval` a GET of
// `health_path` (e.g. /health, /v1/models) on each member; a 2xx within `health_timeout` is
// good, anything else bad, and UpstreamPool::report_health_check applies the thresholds.
// Runs on its own thread and io_context, so probes never wait behind client traffic and the
// server's I/O threads never wait on a dead replica.
#include <memory>
#include <vector>

#include "gateway/upstream_pool.h"

namespace toolgate::gateway {

class HealthChecker {
 public:
  // Checks the pools whose options have a non-zero health_interval; starts at once.
  explicit HealthChecker(const std::vector<std::shared_ptr<UpstreamPool>>& pools);
  ~HealthChecker();  // stops the probes and joins the thread
  HealthChecker(const HealthChecker&) = delete;
  HealthChecker& operator=(const HealthChecker&) = delete;

  size_t probe_count() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace toolgate::gateway
