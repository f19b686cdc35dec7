#pragma once
// Prometheus metrics with vLLM-style names (toolgate:num_requests_running, ...). Counters and
// histograms are fed by the gateway; engine gauges are read from Engine::stats() at scrape time.
#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "engine/engine.h"

namespace toolgate::gateway {

// A Prometheus label value with \\, " and newline escaped (exposition format 0.0.4).
std::string prometheus_label(const std::string& v);

class Histogram {
 public:
  explicit Histogram(std::vector<double> upper_bounds);
  void observe(double value);
  // Appends _bucket/_sum/_count lines (cumulative buckets, le="+Inf" last).
  void render(std::string& out, const std::string& name, const std::string& help) const;
  uint64_t count() const;

 private:
  std::vector<double> bounds_;
  mutable std::mutex mu_;
  std::vector<uint64_t> buckets_;  // non-cumulative; the last is +Inf
  double sum_ = 0;
  uint64_t count_ = 0;
};

struct ModelEngineStats {
  std::string model;
  engine::EngineStats stats;
};

class Metrics {
 public:
  Metrics();

  void count_http_response(int status);
  void observe_time_to_first_token(double seconds) { ttft_.observe(seconds); }
  void observe_inter_token_latency(double seconds) { itl_.observe(seconds); }
  void observe_e2e_latency(double seconds) { e2e_.observe(seconds); }
  void count_tool_run(bool ok) { (ok ? tool_runs_ok_ : tool_runs_failed_).fetch_add(1); }
  void count_client_disconnect() { client_disconnects_.fetch_add(1); }

  // Prometheus text exposition format 0.0.4.
  std::string render(const std::vector<ModelEngineStats>& engines, int gateway_running,
                     int gateway_waiting) const;

  uint64_t http_responses(int status) const;

 private:
  mutable std::mutex mu_;
  std::map<int, uint64_t> http_by_status_;
  Histogram ttft_;
  Histogram itl_;
  Histogram e2e_;
  std::atomic<uint64_t> tool_runs_ok_{0};
  std::atomic<uint64_t> tool_runs_failed_{0};
  std::atomic<uint64_t> client_disconnects_{0};
};

inline constexpr const char* kPrometheusContentType = "text/plain; version=0.0.4; charset=utf-8";

}  // namespace toolgate::gateway
