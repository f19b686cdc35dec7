// https upstreams: UpstreamExchange against a TLS server on a local socket, with the test
// certificates in tests/data/tls (trusted through ca_file, untrusted, or for another host).
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <mutex>
#include <thread>

#include "gateway/upstream_client.h"
#include "test_paths.h"

namespace toolgate::gateway {
namespace {

namespace net = boost::asio;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;

std::string tls_file(const char* name) {
  return (toolgate::testing::source_dir() / "tests" / "data" / "tls" / name).string();
}

// Serves one connection over TLS with the given certificate, answering every request with a
// small JSON body; records the decrypted request head.
class TlsUpstream {
 public:
  explicit TlsUpstream(const char* cert_name)
      : acceptor_(ioc_, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0)) {
    ctx_.use_certificate_chain_file(tls_file((std::string(cert_name) + ".pem").c_str()));
    ctx_.use_private_key_file(tls_file((std::string(cert_name) + ".key").c_str()), ssl::context::pem);
    thread_ = std::thread([this] {
      boost::system::error_code ec;
      tcp::socket s(ioc_);
      acceptor_.accept(s, ec);
      if (ec) return;
      ssl::stream<tcp::socket> tls(std::move(s), ctx_);
      tls.handshake(ssl::stream_base::server, ec);
      if (ec) return;  // the client refused our certificate
      std::string head;
      net::read_until(tls, net::dynamic_buffer(head), "\r\n\r\n", ec);
      {
        std::lock_guard lock(mu_);
        request_ = head;
      }
      const std::string reply =
          "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n"
          "{\"ok\":true}";
      net::write(tls, net::buffer(reply), ec);
      tls.shutdown(ec);
    });
  }
  ~TlsUpstream() {
    boost::system::error_code ec;
    tcp::socket poke(ioc_);
    poke.connect(acceptor_.local_endpoint(), ec);  // unblocks accept() if nobody came
    thread_.join();
  }
  uint16_t port() const { return acceptor_.local_endpoint().port(); }
  std::string request() const {
    std::lock_guard lock(mu_);
    return request_;
  }

 private:
  net::io_context ioc_;
  ssl::context ctx_{ssl::context::tls_server};
  tcp::acceptor acceptor_;
  std::thread thread_;
  mutable std::mutex mu_;
  std::string request_;
};

struct Outcome {
  int status = 0;
  std::string body;
  std::optional<UpstreamFailure> failure;
};

Outcome exchange(const std::string& host, uint16_t port, const std::string& ca_file, bool verify) {
  auto t = std::make_shared<UpstreamTarget>();
  t->base_url = "https://" + host + ":" + std::to_string(port) + "/v1";
  t->url = *parse_upstream_url(t->base_url, nullptr);
  t->api_key = "sk-tls";
  t->timeout = std::chrono::milliseconds(5000);
  t->retries = 0;
  t->tls = make_upstream_tls(ca_file, verify);
  net::io_context ioc;
  Outcome out;
  UpstreamExchange::Handlers h;
  h.on_head = [&](int status, std::string) { out.status = status; };
  h.on_data = [&](std::string d) { out.body += d; };
  h.on_end = [&](std::optional<UpstreamFailure> f) { out.failure = std::move(f); };
  auto ex = UpstreamExchange::start(net::make_strand(ioc), t, "/chat/completions", "{}", false,
                                    std::move(h));
  ioc.run();
  return out;
}

TEST(UpstreamTls, TrustedServerGetsTheRequestEncryptedAndAnswers) {
  for (const char* host : {"127.0.0.1", "localhost"}) {
    TlsUpstream up("localhost");
    Outcome o = exchange(host, up.port(), tls_file("localhost.pem"), true);
    EXPECT_FALSE(o.failure) << host << ": " << (o.failure ? o.failure->detail : "");
    EXPECT_EQ(o.status, 200) << host;
    EXPECT_EQ(o.body, "{\"ok\":true}") << host;
    EXPECT_EQ(up.request().rfind("POST /v1/chat/completions HTTP/1.1\r\n", 0), 0u) << host;
    EXPECT_NE(up.request().find("Authorization: Bearer sk-tls"), std::string::npos) << host;
  }
}

TEST(UpstreamTls, UntrustedCertificateIsRefusedWithAClearReason) {
  TlsUpstream up("localhost");
  Outcome o = exchange("127.0.0.1", up.port(), /*ca_file=*/"", true);  // system CAs only
  ASSERT_TRUE(o.failure);
  EXPECT_EQ(o.failure->kind, UpstreamFailure::Kind::Unreachable);
  EXPECT_NE(o.failure->detail.find("certificate verify failed"), std::string::npos)
      << o.failure->detail;
  EXPECT_EQ(o.status, 0);
}

TEST(UpstreamTls, CertificateForAnotherHostIsRefusedEvenWhenTrusted) {
  TlsUpstream up("other");  // CN/SAN other.example, served on 127.0.0.1
  Outcome o = exchange("127.0.0.1", up.port(), tls_file("other.pem"), true);
  ASSERT_TRUE(o.failure);
  EXPECT_NE(o.failure->detail.find("certificate verify failed"), std::string::npos)
      << o.failure->detail;
  EXPECT_TRUE(up.request().empty()) << "nothing may be sent to an unverified server";
}

TEST(UpstreamTls, VerificationOffAcceptsAnyCertificate) {
  TlsUpstream up("other");
  Outcome o = exchange("127.0.0.1", up.port(), "", /*verify=*/false);
  EXPECT_FALSE(o.failure) << (o.failure ? o.failure->detail : "");
  EXPECT_EQ(o.status, 200);
}

TEST(UpstreamTls, UnreadableCaFileIsAStartupErrorNamingIt) {
  try {
    make_upstream_tls("/nonexistent/ca.pem", true);
    FAIL() << "expected an error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/ca.pem"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace toolgate::gateway
