#pragma once
// Who owns a stored completion: the SHA-256 (hex) of the API key that created it, so the key
// itself is never written to disk. "" on an open server (no keys configured).
#include <string>
#include <string_view>

#include "gateway/api_key_auth.h"

namespace toolgate::gateway {

// `authorization` is the Authorization header of a request that passed auth.check().
std::string key_owner(const ApiKeyAuth& auth, std::string_view authorization);
std::string sha256_hex(std::string_view data);

}  // namespace toolgate::gateway
