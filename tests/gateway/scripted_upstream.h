#pragma once
// A scripted upstream HTTP server on 127.0.0.1 for tests of the upstream client and jobs:
// accepts connections one after another on its own thread, reads each request (head and
// Content-Length body), and lets `script(n, socket, request)` answer connection n (0-based).
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/write.hpp>
#include <cctype>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace toolgate::gateway::testing {

class ScriptedUpstream {
 public:
  using tcp = boost::asio::ip::tcp;
  // `request` is the head and the body as received.
  using Script = std::function<void(int n, tcp::socket& socket, const std::string& request)>;

  explicit ScriptedUpstream(Script script)
      : acceptor_(ioc_, tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0)),
        script_(std::move(script)) {
    thread_ = std::thread([this] {
      for (int n = 0;; ++n) {
        boost::system::error_code ec;
        tcp::socket s(ioc_);
        acceptor_.accept(s, ec);
        if (ec || stopping_) return;
        std::string request = read_request(s);
        {
          std::lock_guard lock(mu_);
          requests_.push_back(request);
        }
        connections_ = n + 1;
        script_(n, s, request);
      }
    });
  }
  ~ScriptedUpstream() {
    stopping_ = true;
    boost::system::error_code ec;
    tcp::socket poke(ioc_);
    poke.connect(acceptor_.local_endpoint(), ec);
    thread_.join();
  }

  uint16_t port() const { return acceptor_.local_endpoint().port(); }
  int connections() const { return connections_; }
  std::string last_request() const {
    std::lock_guard lock(mu_);
    return requests_.empty() ? std::string() : requests_.back();
  }
  std::vector<std::string> requests() const {
    std::lock_guard lock(mu_);
    return requests_;
  }
  // The body of a request (what follows the blank line).
  static std::string body_of(const std::string& request) {
    size_t end = request.find("\r\n\r\n");
    return end == std::string::npos ? std::string() : request.substr(end + 4);
  }

 private:
  static std::string read_request(tcp::socket& s) {
    namespace net = boost::asio;
    boost::system::error_code ec;
    std::string buf;
    size_t head_len = net::read_until(s, net::dynamic_buffer(buf), "\r\n\r\n", ec);
    if (ec) return buf;
    std::string lower;
    for (char c : std::string_view(buf).substr(0, head_len))
      lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    size_t length = 0;
    if (size_t at = lower.find("content-length:"); at != std::string::npos)
      length = std::stoul(lower.substr(at + 15));
    size_t have = buf.size() - head_len;
    if (length > have)
      net::read(s, net::dynamic_buffer(buf), net::transfer_exactly(length - have), ec);
    return buf;
  }

  boost::asio::io_context ioc_;
  tcp::acceptor acceptor_;
  Script script_;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  std::atomic<int> connections_{0};
  mutable std::mutex mu_;
  std::vector<std::string> requests_;
};

inline void send_text(boost::asio::ip::tcp::socket& s, std::string_view text) {
  boost::system::error_code ec;
  boost::asio::write(s, boost::asio::buffer(text.data(), text.size()), ec);
}

// A complete HTTP/1.1 response with a Content-Length body.
inline std::string http_response(int status, std::string_view content_type, std::string_view body) {
  return "HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Type: " + std::string(content_type) +
         "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + std::string(body);
}

}  // namespace toolgate::gateway::testing
