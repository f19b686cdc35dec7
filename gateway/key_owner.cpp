#include "gateway/key_owner.h"

#include <openssl/evp.h>

#include <cctype>

namespace toolgate::gateway {

std::string sha256_hex(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), digest, &len, EVP_sha256(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(len * 2);
  for (unsigned i = 0; i < len; ++i) {
    out += kHex[digest[i] >> 4];
    out += kHex[digest[i] & 0xf];
  }
  return out;
}

std::string key_owner(const ApiKeyAuth& auth, std::string_view authorization) {
  if (auth.open()) return "";
  // The same trimming as ApiKeyAuth::check: "Bearer <key>" with optional spaces.
  while (!authorization.empty() && std::isspace(static_cast<unsigned char>(authorization.back())))
    authorization.remove_suffix(1);
  constexpr size_t kBearer = 7;  // "bearer "
  std::string_view key = authorization.size() > kBearer ? authorization.substr(kBearer) : "";
  while (!key.empty() && key.front() == ' ') key.remove_prefix(1);
  return sha256_hex(key);
}

}  // namespace toolgate::gateway
