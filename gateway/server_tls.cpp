#include "gateway/server_tls.h"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <boost/asio/ssl.hpp>
#include <fstream>
#include <stdexcept>

namespace toolgate::gateway {

namespace ssl = boost::asio::ssl;

namespace {

// OpenSSL's reason for the last failure ("no start line", "key values mismatch"), or the
// system error's text when OpenSSL left nothing.
std::string reason(const boost::system::system_error& e) {
  const char* text = nullptr;
  if (unsigned long code = ERR_peek_last_error()) text = ERR_reason_error_string(code);
  std::string out = text ? text : e.code().message();
  ERR_clear_error();
  return out;
}

void require_readable(const std::string& what, const std::string& path) {
  if (path.empty()) throw std::runtime_error("server.tls." + what + " is not set");
  std::ifstream in(path);
  if (!in) throw std::runtime_error("server.tls." + what + ": cannot read '" + path + "'");
}

}  // namespace

std::unique_ptr<ssl::context> make_server_tls_context(const ServerTls& tls) {
  require_readable("cert", tls.cert_file);
  require_readable("key", tls.key_file);
  auto ctx = std::make_unique<ssl::context>(ssl::context::tls_server);
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                   ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                   ssl::context::single_dh_use);
  SSL_CTX_set_min_proto_version(ctx->native_handle(),
                                tls.tls13_only ? TLS1_3_VERSION : TLS1_2_VERSION);
  try {
    ctx->use_certificate_chain_file(tls.cert_file);
  } catch (const boost::system::system_error& e) {
    throw std::runtime_error("server.tls.cert: cannot load a PEM certificate from '" +
                             tls.cert_file + "': " + reason(e));
  }
  try {
    ctx->use_private_key_file(tls.key_file, ssl::context::pem);
  } catch (const boost::system::system_error& e) {
    throw std::runtime_error("server.tls.key: cannot use the private key in '" + tls.key_file +
                             "' with the certificate in '" + tls.cert_file + "': " + reason(e));
  }
  if (SSL_CTX_check_private_key(ctx->native_handle()) != 1) {
    ERR_clear_error();
    throw std::runtime_error("server.tls.key: the private key in '" + tls.key_file +
                             "' does not match the certificate in '" + tls.cert_file + "'");
  }
  return ctx;
}

}  // namespace toolgate::gateway
