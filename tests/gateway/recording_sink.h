#pragma once
// A ResponseSink that records what would go on the wire, for job tests; thread-safe, with waits.
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "gateway/response_sink.h"

namespace toolgate::gateway::testing {

class RecordingSink : public ResponseSink {
 public:
  void send_response(HttpResponse r) override {
    std::lock_guard lock(mu_);
    response = std::move(r);
    ended = true;
    cv.notify_all();
  }
  void begin_stream(HttpResponse head) override {
    std::lock_guard lock(mu_);
    stream_head = std::move(head);
  }
  void stream_data(std::string data) override {
    std::lock_guard lock(mu_);
    stream += data;
    cv.notify_all();
  }
  void end_stream() override {
    std::lock_guard lock(mu_);
    ended = true;
    cv.notify_all();
  }
  bool wait_end(std::chrono::milliseconds t = std::chrono::seconds(5)) {
    std::unique_lock lock(mu_);
    return cv.wait_for(lock, t, [&] { return ended; });
  }
  bool wait_stream_contains(const std::string& s,
                            std::chrono::milliseconds t = std::chrono::seconds(5)) {
    std::unique_lock lock(mu_);
    return cv.wait_for(lock, t, [&] { return stream.find(s) != std::string::npos; });
  }
  // The data: payloads of the stream, [DONE] as a string.
  std::vector<nlohmann::json> events() {
    std::lock_guard lock(mu_);
    std::vector<nlohmann::json> out;
    std::istringstream in(stream);
    std::string line;
    while (std::getline(in, line)) {
      if (line.rfind("data: ", 0) != 0) continue;
      std::string payload = line.substr(6);
      out.push_back(payload == "[DONE]" ? nlohmann::json("[DONE]")
                                        : nlohmann::json::parse(payload));
    }
    return out;
  }

  std::mutex mu_;
  std::condition_variable cv;
  std::optional<HttpResponse> response;
  std::optional<HttpResponse> stream_head;
  std::string stream;
  bool ended = false;
};

}  // namespace toolgate::gateway::testing
