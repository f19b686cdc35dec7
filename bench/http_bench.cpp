// HTTP load generator for cheap endpoints: N keep-alive connections hammer one GET target for a
// fixed time; prints requests/s and latency percentiles as JSON.
//   http_bench [--host 127.0.0.1] [--port 8080] [--path /v1/models] [--connections 64]
//              [--seconds 10] [--threads 2] [--api-key KEY]
//              [--body-file F]   POST F's content (application/json) instead of a GET
//              [--rate R]        at most R requests/s in all (each connection paced at R/N)
//              [--cpu-pid PID]   also report PID's CPU time per request (from /proc/PID/stat)
#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <unistd.h>

#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <iostream>
#include <memory>
#include <mutex>
#include <thread>

#include "bench_stats.h"

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;

struct Config {
  std::string host = "127.0.0.1";
  std::string port = "8080";
  std::string path = "/v1/models";
  std::string api_key;
  int connections = 64;
  int seconds = 10;
  int threads = 2;
  std::string body;   // non-empty: POST it
  double rate = 0;    // requests/s over all connections; 0 = as fast as answers come
  int cpu_pid = 0;
};

// utime + stime of a process in seconds (0 when it cannot be read).
double process_cpu_seconds(int pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  size_t close = text.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream rest(text.substr(close + 2));
  std::string field;
  double utime = 0, stime = 0;
  for (int i = 3; rest >> field; ++i) {  // field 3 is the state; utime is 14, stime 15
    if (i == 14) utime = std::stod(field);
    if (i == 15) {
      stime = std::stod(field);
      break;
    }
  }
  return (utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

struct Results {
  std::mutex mu;
  std::vector<double> latencies_ms;
  std::atomic<uint64_t> ok{0}, errors{0}, non_2xx{0};
};

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(net::io_context& ioc, const Config& cfg, Results& results, Clock::time_point end)
      : stream_(net::make_strand(ioc)), pace_(stream_.get_executor()), cfg_(cfg),
        results_(results), end_(end) {
    req_.method(cfg.body.empty() ? http::verb::get : http::verb::post);
    if (!cfg.body.empty()) {
      req_.set(http::field::content_type, "application/json");
      req_.body() = cfg.body;
      req_.prepare_payload();
    }
    req_.target(cfg.path);
    req_.version(11);
    req_.set(http::field::host, cfg.host);
    if (!cfg.api_key.empty()) req_.set(http::field::authorization, "Bearer " + cfg.api_key);
    req_.keep_alive(true);
  }

  void start(const tcp::resolver::results_type& endpoints) {
    stream_.async_connect(endpoints,
                          [self = shared_from_this()](beast::error_code ec, const tcp::endpoint&) {
                            if (ec) {
                              ++self->results_.errors;
                              return;
                            }
                            self->stream_.socket().set_option(tcp::no_delay(true));
                            self->send();
                          });
  }

 private:
  void send() {
    if (Clock::now() >= end_) return flush();
    if (cfg_.rate > 0) {
      // Paced: the next send is due one interval after the previous one was due.
      const auto interval = std::chrono::duration_cast<Clock::duration>(
          std::chrono::duration<double>(cfg_.connections / cfg_.rate));
      if (due_ == Clock::time_point{}) due_ = Clock::now() + interval * (id_offset() % 1000) / 1000;
      if (Clock::now() < due_) {
        pace_.expires_at(due_);
        return pace_.async_wait([self = shared_from_this()](beast::error_code) { self->transmit(); });
      }
    }
    transmit();
  }

  size_t id_offset() const { return reinterpret_cast<uintptr_t>(this) >> 4; }

  void flush() {
    std::lock_guard lock(results_.mu);
    results_.latencies_ms.insert(results_.latencies_ms.end(), latencies_.begin(), latencies_.end());
    latencies_.clear();
  }

  void transmit() {
    if (cfg_.rate > 0) {
      due_ += std::chrono::duration_cast<Clock::duration>(
          std::chrono::duration<double>(cfg_.connections / cfg_.rate));
    }
    sent_at_ = Clock::now();
    http::async_write(stream_, req_, [self = shared_from_this()](beast::error_code ec, size_t) {
      if (ec) {
        ++self->results_.errors;
        return;
      }
      self->res_ = {};
      http::async_read(self->stream_, self->buf_, self->res_,
                       [self](beast::error_code ec2, size_t) { self->on_read(ec2); });
    });
  }

  void on_read(beast::error_code ec) {
    if (ec) {
      ++results_.errors;
      return;
    }
    double ms = std::chrono::duration<double, std::milli>(Clock::now() - sent_at_).count();
    if (res_.result_int() / 100 == 2) {
      ++results_.ok;
    } else {
      ++results_.non_2xx;
    }
    latencies_.push_back(ms);
    if (Clock::now() >= end_ || !res_.keep_alive()) return flush();
    send();
  }

  beast::tcp_stream stream_;
  net::steady_timer pace_;
  Clock::time_point due_{};
  const Config& cfg_;
  Results& results_;
  Clock::time_point end_;
  Clock::time_point sent_at_;
  http::request<http::string_body> req_;
  http::response<http::string_body> res_;
  beast::flat_buffer buf_;
  std::vector<double> latencies_;
};

int main(int argc, char** argv) {
  Config cfg;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--host")
      cfg.host = v;
    else if (k == "--port")
      cfg.port = v;
    else if (k == "--path")
      cfg.path = v;
    else if (k == "--connections")
      cfg.connections = std::stoi(v);
    else if (k == "--seconds")
      cfg.seconds = std::stoi(v);
    else if (k == "--threads")
      cfg.threads = std::stoi(v);
    else if (k == "--api-key")
      cfg.api_key = v;
    else if (k == "--body-file") {
      std::ifstream f(v);
      cfg.body.assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
      if (cfg.body.empty()) {
        std::fprintf(stderr, "cannot read %s (or it is empty)\n", v.c_str());
        return 2;
      }
    } else if (k == "--rate")
      cfg.rate = std::stod(v);
    else if (k == "--cpu-pid")
      cfg.cpu_pid = std::stoi(v);
    else {
      std::fprintf(stderr, "unknown option %s\n", k.c_str());
      return 2;
    }
  }
  net::io_context ioc;
  tcp::resolver resolver(ioc);
  auto endpoints = resolver.resolve(cfg.host, cfg.port);
  Results results;
  const double cpu_before = cfg.cpu_pid ? process_cpu_seconds(cfg.cpu_pid) : 0;
  auto start = Clock::now();
  auto end = start + std::chrono::seconds(cfg.seconds);
  for (int i = 0; i < cfg.connections; ++i)
    std::make_shared<Connection>(ioc, cfg, results, end)->start(endpoints);
  std::vector<std::thread> threads;
  for (int i = 0; i < cfg.threads; ++i) threads.emplace_back([&] { ioc.run(); });
  for (auto& t : threads) t.join();
  double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  const double cpu_seconds = cfg.cpu_pid ? process_cpu_seconds(cfg.cpu_pid) - cpu_before : 0;

  nlohmann::json out;
  out["target"] = (cfg.body.empty() ? "GET " : "POST ") + cfg.path;
  if (cfg.rate > 0) out["rate_target"] = cfg.rate;
  out["load_average"] = toolgate::bench::load_average();
  out["connections"] = cfg.connections;
  out["duration_s"] = elapsed;
  out["requests_ok"] = results.ok.load();
  out["requests_non_2xx"] = results.non_2xx.load();
  out["errors"] = results.errors.load();
  out["requests_per_s"] = static_cast<double>(results.ok + results.non_2xx) / elapsed;
  toolgate::bench::add_distribution(out, "latency", results.latencies_ms);
  if (cfg.cpu_pid) {
    const double n = static_cast<double>(results.ok + results.non_2xx);
    out["server_cpu_seconds"] = cpu_seconds;
    out["server_cpu_us_per_request"] = n > 0 ? cpu_seconds / n * 1e6 : 0;
  }
  std::cout << out.dump(2) << std::endl;
  return results.errors > 0 ? 1 : 0;
}
