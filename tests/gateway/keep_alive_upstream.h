#pragma once
// A keep-alive HTTP/1.1 upstream on 127.0.0.1 for tests of connection reuse: every accepted
// connection is served on a thread of its own, request after request, until the script says to
// close it or the client closes it. Counts accepted connections and requests, which is how the
// tests see whether a connection was reused.
#include <sys/socket.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/write.hpp>
#include <cctype>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace toolgate::gateway::testing {

class KeepAliveUpstream {
 public:
  using tcp = boost::asio::ip::tcp;
  // Answers request `request` (0-based, over all connections), the `nth` on connection
  // `connection`; returns false to close the connection afterwards.
  using Script = std::function<bool(int request, int connection, int nth, tcp::socket& socket,
                                    const std::string& text)>;

  explicit KeepAliveUpstream(Script script)
      : acceptor_(ioc_, tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0)),
        script_(std::move(script)) {
    accept_thread_ = std::thread([this] {
      for (int n = 0;; ++n) {
        auto s = std::make_shared<tcp::socket>(ioc_);
        boost::system::error_code ec;
        acceptor_.accept(*s, ec);
        if (ec || stopping_) return;
        connections_ = n + 1;
        std::lock_guard lock(mu_);
        sockets_.push_back(s);
        threads_.emplace_back([this, s, n] { serve(*s, n); });
      }
    });
  }

  ~KeepAliveUpstream() {
    stopping_ = true;
    boost::system::error_code ec;
    tcp::socket poke(ioc_);
    poke.connect(acceptor_.local_endpoint(), ec);
    accept_thread_.join();
    std::vector<std::thread> threads;
    {
      std::lock_guard lock(mu_);
      // Wakes the serving threads blocked in a read (a pooled connection the client still holds).
      for (auto& s : sockets_) ::shutdown(s->native_handle(), SHUT_RDWR);
      threads.swap(threads_);
    }
    for (auto& t : threads) t.join();
  }

  uint16_t port() const { return acceptor_.local_endpoint().port(); }
  int connections() const { return connections_; }
  int requests() const { return requests_; }
  std::vector<std::string> texts() const {
    std::lock_guard lock(mu_);
    return texts_;
  }

 private:
  void serve(tcp::socket& s, int connection) {
    namespace net = boost::asio;
    std::string buf;
    for (int nth = 0;; ++nth) {
      boost::system::error_code ec;
      const size_t head_len = net::read_until(s, net::dynamic_buffer(buf), "\r\n\r\n", ec);
      if (ec) return;
      std::string lower;
      for (char c : buf.substr(0, head_len))
        lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      size_t length = 0;
      if (size_t at = lower.find("content-length:"); at != std::string::npos)
        length = std::stoul(lower.substr(at + 15));
      const size_t have = buf.size() - head_len;
      if (have < length)
        net::read(s, net::dynamic_buffer(buf), net::transfer_exactly(length - have), ec);
      if (ec) return;
      const std::string text = buf.substr(0, head_len + length);
      buf.erase(0, head_len + length);
      int request = 0;
      {
        std::lock_guard lock(mu_);
        texts_.push_back(text);
        request = requests_++;
      }
      if (!script_(request, connection, nth, s, text)) {
        s.shutdown(tcp::socket::shutdown_both, ec);
        return;
      }
    }
  }

  boost::asio::io_context ioc_;
  tcp::acceptor acceptor_;
  Script script_;
  std::thread accept_thread_;
  std::atomic<bool> stopping_{false};
  std::atomic<int> connections_{0};
  std::atomic<int> requests_{0};
  mutable std::mutex mu_;
  std::vector<std::shared_ptr<tcp::socket>> sockets_;
  std::vector<std::thread> threads_;
  std::vector<std::string> texts_;
};

}  // namespace toolgate::gateway::testing
