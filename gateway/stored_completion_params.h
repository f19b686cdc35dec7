#pragma once
// Parameters of the stored-completion endpoints, checked as OpenAI checks them: `store` and
// `metadata` on a chat completion, the list query (`model`, `metadata[key]=value`, `after`,
// `limit`, `order`), and completion ids in paths. Pure functions: no store, no sockets.
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "gateway/api_error.h"
#include "gateway/storing_sink.h"
#include "store/completion_store.h"

namespace toolgate::gateway {

inline constexpr size_t kMaxMetadataPairs = 16;
inline constexpr size_t kMaxMetadataKeyChars = 64;
inline constexpr size_t kMaxMetadataValueChars = 512;
inline constexpr int kMaxListLimit = 100;

// `metadata`: an object of at most 16 string pairs (keys ≤ 64 chars, values ≤ 512); null is
// an empty set.
std::variant<store::Metadata, ApiError> parse_metadata(const nlohmann::ordered_json& value);

// Reads `store` and `metadata` from a chat completion body. Without `store: true`: nothing
// (metadata is still checked). With it: the intent to store, with `store`/`metadata` removed
// from `body` and, for a stream, `stream_options.include_usage` turned on (the intent
// remembers whether the client asked for it).
std::variant<std::optional<StoreIntent>, ApiError> parse_store_intent(nlohmann::ordered_json& body,
                                                                      const std::string& owner);

// `chatcmpl-…` and the ids upstream servers make: 1..128 of [A-Za-z0-9_.:-].
bool valid_completion_id(std::string_view id);

struct PageParams {
  std::optional<std::string> after;
  int limit = 20;
  bool descending = false;
};

// The list query of GET /v1/chat/completions (or of …/messages, which takes only the page
// parameters). `query` is the target's text after '?'.
std::variant<store::ListQuery, ApiError> parse_list_query(std::string_view query);
std::variant<PageParams, ApiError> parse_page_query(std::string_view query);

}  // namespace toolgate::gateway
