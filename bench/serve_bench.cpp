// Serving benchmark in the style of vLLM's benchmark_serving: `--num-prompts` streamed chat
// completions, at most `--concurrency` in flight, against a running server. Measures time to
// first token, inter-token latency, time per output token, end-to-end latency and throughput;
// prints one JSON object.
//   serve_bench [--host 127.0.0.1] [--port 8080] [--model ID] [--num-prompts 32]
//               [--concurrency 8] [--max-tokens 128] [--api-key KEY] [--prompt TEXT]
//               [--store off|on|both]
// --store on sends `store: true` (the server must have a store) and adds the server's store
// write latency (p50/p99 from /metrics). --store both runs the workload four times back to back,
// off/on/on/off (so drift on a shared machine cancels out), and reports the aggregate output
// tokens/s of each setting and the difference.
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
#include <mutex>
#include <optional>
#include <sstream>
#include <thread>

#include "bench_stats.h"

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;
using nlohmann::json;

struct Config {
  std::string host = "127.0.0.1";
  std::string port = "8080";
  std::string model;
  std::string api_key;
  int num_prompts = 32;
  int concurrency = 8;
  int max_tokens = 128;
  bool store = false;
  std::vector<std::string> prompts = {"Explain how a hash map works.",
                                      "Write a short poem about the sea.",
                                      "What are the main causes of inflation?",
                                      "Describe the water cycle for a child.",
                                      "Give three tips for writing clean code.",
                                      "Summarize the plot of Hamlet.",
                                      "How do vaccines train the immune system?",
                                      "What is the difference between TCP and UDP?"};
};

struct RequestResult {
  bool ok = false;
  std::string error;
  double ttft_ms = 0;
  double e2e_ms = 0;
  std::vector<double> itl_ms;
  int prompt_tokens = 0;
  int output_tokens = 0;
};

std::string fetch_first_model(const Config& cfg) {
  net::io_context ioc;
  tcp::resolver resolver(ioc);
  beast::tcp_stream stream(ioc);
  stream.connect(resolver.resolve(cfg.host, cfg.port));
  http::request<http::empty_body> req{http::verb::get, "/v1/models", 11};
  req.set(http::field::host, cfg.host);
  if (!cfg.api_key.empty()) req.set(http::field::authorization, "Bearer " + cfg.api_key);
  http::write(stream, req);
  beast::flat_buffer buf;
  http::response<http::string_body> res;
  http::read(stream, buf, res);
  return json::parse(res.body()).at("data").at(0).at("id").get<std::string>();
}

RequestResult run_one(const Config& cfg, const std::string& prompt) {
  RequestResult r;
  try {
    net::io_context ioc;
    tcp::resolver resolver(ioc);
    beast::tcp_stream stream(ioc);
    stream.connect(resolver.resolve(cfg.host, cfg.port));
    stream.socket().set_option(tcp::no_delay(true));
    json body = {{"model", cfg.model},
                 {"messages", json::array({{{"role", "user"}, {"content", prompt}}})},
                 {"max_tokens", cfg.max_tokens},
                 {"temperature", 0},
                 {"stream", true},
                 {"stream_options", {{"include_usage", true}}}};
    if (cfg.store) {
      body["store"] = true;
      body["metadata"] = {{"source", "serve_bench"}};
    }
    http::request<http::string_body> req{http::verb::post, "/v1/chat/completions", 11};
    req.set(http::field::host, cfg.host);
    req.set(http::field::content_type, "application/json");
    if (!cfg.api_key.empty()) req.set(http::field::authorization, "Bearer " + cfg.api_key);
    req.body() = body.dump();
    req.prepare_payload();
    auto start = Clock::now();
    http::write(stream, req);

    beast::flat_buffer buf;
    http::response_parser<http::buffer_body> parser;
    parser.body_limit(boost::none);
    http::read_header(stream, buf, parser);
    if (parser.get().result_int() != 200) {
      r.error = "HTTP " + std::to_string(parser.get().result_int());
      return r;
    }
    std::string pending;
    std::optional<Clock::time_point> last;
    char chunk[8192];
    bool done = false;
    while (!parser.is_done() && !done) {
      parser.get().body().data = chunk;
      parser.get().body().size = sizeof chunk;
      beast::error_code ec;
      // read_some: return with whatever arrived (read() would wait for the buffer to fill and
      // turn the token stream into bursts).
      http::read_some(stream, buf, parser, ec);
      if (ec && ec != http::error::need_buffer) throw beast::system_error(ec);
      pending.append(chunk, sizeof chunk - parser.get().body().size);
      size_t pos;
      while ((pos = pending.find("\n\n")) != std::string::npos) {
        std::string event = pending.substr(0, pos);
        pending.erase(0, pos + 2);
        if (event.rfind("data: ", 0) != 0) continue;
        std::string data = event.substr(6);
        if (data == "[DONE]") {
          done = true;
          break;
        }
        json j = json::parse(data);
        if (j.contains("error")) throw std::runtime_error(j["error"].dump());
        if (j.contains("usage") && j["usage"].is_object()) {
          r.prompt_tokens = j["usage"]["prompt_tokens"];
          r.output_tokens = j["usage"]["completion_tokens"];
        }
        if (j["choices"].empty()) continue;
        const json& delta = j["choices"][0]["delta"];
        if (!delta.contains("content") || delta["content"].get<std::string>().empty()) continue;
        auto now = Clock::now();
        if (!last) {
          r.ttft_ms = std::chrono::duration<double, std::milli>(now - start).count();
        } else {
          r.itl_ms.push_back(std::chrono::duration<double, std::milli>(now - *last).count());
        }
        last = now;
      }
    }
    r.e2e_ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    r.ok = true;
  } catch (const std::exception& e) {
    r.error = e.what();
  }
  return r;
}

json run_workload(const Config& cfg);

// The server's store write latency quantiles (seconds) from /metrics, in ms.
json store_latency_from_metrics(const Config& cfg) {
  net::io_context ioc;
  tcp::resolver resolver(ioc);
  beast::tcp_stream stream(ioc);
  stream.connect(resolver.resolve(cfg.host, cfg.port));
  http::request<http::empty_body> req{http::verb::get, "/metrics", 11};
  req.set(http::field::host, cfg.host);
  http::write(stream, req);
  beast::flat_buffer buf;
  http::response<http::string_body> res;
  http::read(stream, buf, res);
  json out = json::object();
  std::istringstream lines(res.body());
  for (std::string line; std::getline(lines, line);) {
    const std::string name = "toolgate:store_write_latency_seconds";
    if (line.rfind(name, 0) != 0) continue;
    auto value = std::stod(line.substr(line.rfind(' ') + 1));
    if (line.find("quantile=\"0.5\"") != std::string::npos) out["p50_ms"] = value * 1000;
    if (line.find("quantile=\"0.99\"") != std::string::npos) out["p99_ms"] = value * 1000;
    if (line.rfind(name + "_count", 0) == 0) out["writes"] = value;
  }
  return out;
}

int main(int argc, char** argv) {
  Config cfg;
  std::optional<std::string> prompt;
  std::string store_mode = "off";
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--host")
      cfg.host = v;
    else if (k == "--port")
      cfg.port = v;
    else if (k == "--model")
      cfg.model = v;
    else if (k == "--num-prompts")
      cfg.num_prompts = std::stoi(v);
    else if (k == "--concurrency")
      cfg.concurrency = std::stoi(v);
    else if (k == "--max-tokens")
      cfg.max_tokens = std::stoi(v);
    else if (k == "--api-key")
      cfg.api_key = v;
    else if (k == "--prompt")
      prompt = v;
    else if (k == "--store" && (v == "off" || v == "on" || v == "both"))
      store_mode = v;
    else {
      std::fprintf(stderr, "unknown option %s\n", k.c_str());
      return 2;
    }
  }
  if (prompt) cfg.prompts = {*prompt};
  if (cfg.model.empty()) cfg.model = fetch_first_model(cfg);

  if (store_mode != "both") {
    cfg.store = store_mode == "on";
    json out = run_workload(cfg);
    if (cfg.store) out["store_write_latency"] = store_latency_from_metrics(cfg);
    std::cout << out.dump(2) << std::endl;
    return out["failed"].get<int>() == 0 ? 0 : 1;
  }
  // off, on, on, off: a linear drift in machine load weighs on both settings alike.
  json rounds = json::array();
  double tokens[2] = {0, 0}, seconds[2] = {0, 0};
  int failed = 0;
  for (bool on : {false, true, true, false}) {
    cfg.store = on;
    json r = run_workload(cfg);
    tokens[on] += r["total_output_tokens"].get<double>();
    seconds[on] += r["duration_s"].get<double>();
    failed += r["failed"].get<int>();
    rounds.push_back({{"store", on},
                      {"output_throughput", r["output_throughput"]},
                      {"duration_s", r["duration_s"]},
                      {"failed", r["failed"]}});
  }
  json out;
  out["model"] = cfg.model;
  out["num_prompts"] = cfg.num_prompts;
  out["concurrency"] = cfg.concurrency;
  out["max_tokens"] = cfg.max_tokens;
  out["rounds"] = rounds;
  const double off = tokens[0] / seconds[0], on = tokens[1] / seconds[1];
  out["output_throughput_store_off"] = off;
  out["output_throughput_store_on"] = on;
  out["store_on_vs_off_pct"] = (on - off) / off * 100;
  out["store_write_latency"] = store_latency_from_metrics(cfg);
  std::cout << out.dump(2) << std::endl;
  return failed == 0 ? 0 : 1;
}

json run_workload(const Config& cfg) {
  std::atomic<int> next{0};
  std::mutex mu;
  std::vector<RequestResult> results;
  auto start = Clock::now();
  std::vector<std::thread> workers;
  for (int w = 0; w < cfg.concurrency; ++w) {
    workers.emplace_back([&] {
      for (int i; (i = next++) < cfg.num_prompts;) {
        auto r = run_one(cfg, cfg.prompts[static_cast<size_t>(i) % cfg.prompts.size()]);
        std::lock_guard lock(mu);
        results.push_back(std::move(r));
      }
    });
  }
  for (auto& t : workers) t.join();
  double duration = std::chrono::duration<double>(Clock::now() - start).count();

  std::vector<double> ttft, itl, tpot, e2e;
  int completed = 0;
  long input_tokens = 0, output_tokens = 0;
  std::vector<std::string> errors;
  for (const auto& r : results) {
    if (!r.ok) {
      errors.push_back(r.error);
      continue;
    }
    ++completed;
    input_tokens += r.prompt_tokens;
    output_tokens += r.output_tokens;
    ttft.push_back(r.ttft_ms);
    e2e.push_back(r.e2e_ms);
    itl.insert(itl.end(), r.itl_ms.begin(), r.itl_ms.end());
    if (r.output_tokens > 1) tpot.push_back((r.e2e_ms - r.ttft_ms) / (r.output_tokens - 1));
  }
  json out;
  out["model"] = cfg.model;
  out["num_prompts"] = cfg.num_prompts;
  out["concurrency"] = cfg.concurrency;
  out["max_tokens"] = cfg.max_tokens;
  out["duration_s"] = duration;
  out["completed"] = completed;
  out["failed"] = static_cast<int>(errors.size());
  if (!errors.empty()) out["first_error"] = errors.front();
  out["total_input_tokens"] = input_tokens;
  out["total_output_tokens"] = output_tokens;
  out["request_throughput"] = completed / duration;
  out["output_throughput"] = static_cast<double>(output_tokens) / duration;
  out["total_token_throughput"] = static_cast<double>(input_tokens + output_tokens) / duration;
  using toolgate::bench::add_distribution;
  add_distribution(out, "ttft", ttft);
  add_distribution(out, "tpot", tpot);
  add_distribution(out, "itl", itl);
  add_distribution(out, "e2el", e2e);
  out["store"] = cfg.store;
  return out;
}
