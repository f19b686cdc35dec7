#pragma once
// The OpenSSL context behind server.tls: the certificate chain and private key loaded, the
// protocol floor set (TLS 1.2 or 1.3; nothing older is ever offered).
#include <memory>

#include "gateway/options.h"

namespace boost::asio::ssl {
class context;
}

namespace toolgate::gateway {

// Throws std::runtime_error naming the file when the certificate or key cannot be read or
// parsed, or when the key does not belong to the certificate.
std::unique_ptr<boost::asio::ssl::context> make_server_tls_context(const ServerTls& tls);

}  // namespace toolgate::gateway
