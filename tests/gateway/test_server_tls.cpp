// make_server_tls_context: the start-up errors for server.tls name the file at fault.
#include <gtest/gtest.h>

#include <boost/asio/ssl/context.hpp>
#include <stdexcept>

#include "gateway/server_tls.h"
#include "test_paths.h"

namespace toolgate::gateway {
namespace {

std::string tls_file(const std::string& name) {
  return (toolgate::testing::source_dir() / "tests" / "data" / "tls" / name).string();
}

std::string start_up_error(const ServerTls& tls) {
  try {
    make_server_tls_context(tls);
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "";
}

TEST(ServerTlsContext, LoadsAMatchingCertificateAndKey) {
  EXPECT_NE(make_server_tls_context({tls_file("localhost.pem"), tls_file("localhost.key")}),
            nullptr);
  EXPECT_NE(make_server_tls_context({tls_file("localhost.pem"), tls_file("localhost.key"), true}),
            nullptr);
}

TEST(ServerTlsContext, MissingCertificateFileIsNamed) {
  std::string error = start_up_error({tls_file("absent.pem"), tls_file("localhost.key")});
  EXPECT_NE(error.find("server.tls.cert"), std::string::npos) << error;
  EXPECT_NE(error.find("absent.pem"), std::string::npos) << error;
}

TEST(ServerTlsContext, MissingKeyFileIsNamed) {
  std::string error = start_up_error({tls_file("localhost.pem"), tls_file("absent.key")});
  EXPECT_NE(error.find("server.tls.key"), std::string::npos) << error;
  EXPECT_NE(error.find("absent.key"), std::string::npos) << error;
}

TEST(ServerTlsContext, KeyOfAnotherCertificateIsNamed) {
  std::string error = start_up_error({tls_file("localhost.pem"), tls_file("other.key")});
  EXPECT_NE(error.find("other.key"), std::string::npos) << error;
  EXPECT_NE(error.find("mismatch"), std::string::npos) << error;
}

TEST(ServerTlsContext, AFileThatIsNotPemIsNamed) {
  std::string error = start_up_error({tls_file("README.md"), tls_file("localhost.key")});
  EXPECT_NE(error.find("README.md"), std::string::npos) << error;
}

}  // namespace
}  // namespace toolgate::gateway
