// HTTP load generator for cheap endpoints: N keep-alive connections hammer one GET target for a
// fixed time; prints requests/s and latency percentiles as JSON.
//   http_bench [--host 127.0.0.1] [--port 8080] [--path /v1/models] [--connections 64]
//              [--seconds 10] [--threads 2] [--api-key KEY]
#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cstdio>
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
};

struct Results {
  std::mutex mu;
  std::vector<double> latencies_ms;
  std::atomic<uint64_t> ok{0}, errors{0}, non_2xx{0};
};

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(net::io_context& ioc, const Config& cfg, Results& results, Clock::time_point end)
      : stream_(net::make_strand(ioc)), cfg_(cfg), results_(results), end_(end) {
    req_.method(http::verb::get);
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
    if (Clock::now() >= end_) return;
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
    if (Clock::now() >= end_ || !res_.keep_alive()) {
      std::lock_guard lock(results_.mu);
      results_.latencies_ms.insert(results_.latencies_ms.end(), latencies_.begin(),
                                   latencies_.end());
      return;
    }
    send();
  }

  beast::tcp_stream stream_;
  const Config& cfg_;
  Results& results_;
  Clock::time_point end_;
  Clock::time_point sent_at_;
  http::request<http::empty_body> req_;
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
    else {
      std::fprintf(stderr, "unknown option %s\n", k.c_str());
      return 2;
    }
  }
  net::io_context ioc;
  tcp::resolver resolver(ioc);
  auto endpoints = resolver.resolve(cfg.host, cfg.port);
  Results results;
  auto start = Clock::now();
  auto end = start + std::chrono::seconds(cfg.seconds);
  for (int i = 0; i < cfg.connections; ++i)
    std::make_shared<Connection>(ioc, cfg, results, end)->start(endpoints);
  std::vector<std::thread> threads;
  for (int i = 0; i < cfg.threads; ++i) threads.emplace_back([&] { ioc.run(); });
  for (auto& t : threads) t.join();
  double elapsed = std::chrono::duration<double>(Clock::now() - start).count();

  nlohmann::json out;
  out["target"] = "GET " + cfg.path;
  out["connections"] = cfg.connections;
  out["duration_s"] = elapsed;
  out["requests_ok"] = results.ok.load();
  out["requests_non_2xx"] = results.non_2xx.load();
  out["errors"] = results.errors.load();
  out["requests_per_s"] = static_cast<double>(results.ok + results.non_2xx) / elapsed;
  toolgate::bench::add_distribution(out, "latency", results.latencies_ms);
  std::cout << out.dump(2) << std::endl;
  return results.errors > 0 ? 1 : 0;
}
