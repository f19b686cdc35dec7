#include "gateway/stored_completion_params.h"

#include <charconv>
#include <vector>

#include "gateway/http_api.h"

namespace toolgate::gateway {
namespace {

using nlohmann::ordered_json;

size_t utf8_chars(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

ApiError bad_metadata(const std::string& what) {
  return ApiError::invalid_request("Invalid 'metadata': " + what, "metadata");
}

// Query-string decoding: '+' is a space, then %XX escapes.
std::string query_decode(std::string_view s) {
  std::string plus(s);
  for (char& c : plus)
    if (c == '+') c = ' ';
  return url_decode(plus);
}

std::vector<std::pair<std::string, std::string>> split_query(std::string_view query) {
  std::vector<std::pair<std::string, std::string>> out;
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view part = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    if (part.empty()) continue;
    size_t eq = part.find('=');
    out.emplace_back(query_decode(part.substr(0, eq)),
                     eq == std::string_view::npos ? "" : query_decode(part.substr(eq + 1)));
  }
  return out;
}

// Page parameters shared by both lists; returns an error or nothing.
std::optional<ApiError> read_page_param(const std::string& key, const std::string& value,
                                        PageParams& page) {
  if (key == "after") {
    if (!valid_completion_id(value))
      return ApiError::invalid_request(
          "Invalid 'after': '" + value.substr(0, 140) + "' is not a valid id.", "after");
    page.after = value;
  } else if (key == "limit") {
    int limit = 0;
    auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), limit);
    if (ec != std::errc{} || p != value.data() + value.size() || limit < 1 || limit > kMaxListLimit)
      return ApiError::invalid_request("Invalid 'limit': expected an integer from 1 to " +
                                           std::to_string(kMaxListLimit) + ", got '" +
                                           value.substr(0, 40) + "'.",
                                       "limit");
    page.limit = limit;
  } else if (key == "order") {
    if (value != "asc" && value != "desc")
      return ApiError::invalid_request(
          "Invalid 'order': expected 'asc' or 'desc', got '" + value.substr(0, 40) + "'.", "order");
    page.descending = value == "desc";
  }
  return std::nullopt;
}

}  // namespace

bool valid_completion_id(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.' || c == ':';
    if (!ok) return false;
  }
  return true;
}

std::variant<store::Metadata, ApiError> parse_metadata(const ordered_json& value) {
  store::Metadata out;
  if (value.is_null()) return out;
  if (!value.is_object()) return bad_metadata("expected an object of string pairs.");
  if (value.size() > kMaxMetadataPairs)
    return bad_metadata("too many properties. Expected an object with at most " +
                        std::to_string(kMaxMetadataPairs) + " properties, but got " +
                        std::to_string(value.size()) + ".");
  for (const auto& [k, v] : value.items()) {
    if (k.empty() || utf8_chars(k) > kMaxMetadataKeyChars)
      return bad_metadata("keys must be 1 to " + std::to_string(kMaxMetadataKeyChars) +
                          " characters long.");
    if (!v.is_string()) return bad_metadata("the value of '" + k + "' must be a string.");
    const auto& s = v.get_ref<const std::string&>();
    if (utf8_chars(s) > kMaxMetadataValueChars)
      return bad_metadata("the value of '" + k + "' is longer than " +
                          std::to_string(kMaxMetadataValueChars) + " characters.");
    out[k] = s;
  }
  return out;
}

std::variant<std::optional<StoreIntent>, ApiError> parse_store_intent(ordered_json& body,
                                                                      const std::string& owner) {
  if (!body.is_object()) return std::optional<StoreIntent>{};
  store::Metadata metadata;
  if (auto it = body.find("metadata"); it != body.end()) {
    auto parsed = parse_metadata(*it);
    if (auto* err = std::get_if<ApiError>(&parsed)) return *err;
    metadata = std::move(std::get<store::Metadata>(parsed));
  }
  auto it = body.find("store");
  if (it == body.end() || it->is_null()) return std::optional<StoreIntent>{};
  if (!it->is_boolean())
    return ApiError::invalid_request("Invalid type for 'store': expected a boolean.", "store");
  if (!it->get<bool>()) return std::optional<StoreIntent>{};

  StoreIntent intent;
  intent.owner = owner;
  intent.metadata = std::move(metadata);
  body.erase("store");
  body.erase("metadata");
  intent.request = body;
  const auto stream = body.find("stream");
  if (stream != body.end() && stream->is_boolean() && stream->get<bool>()) {
    auto& options = body["stream_options"];
    if (!options.is_object()) options = ordered_json::object();
    auto usage = options.find("include_usage");
    intent.client_wants_usage = usage != options.end() && usage->is_boolean() && usage->get<bool>();
    options["include_usage"] = true;
  }
  return std::optional<StoreIntent>(std::move(intent));
}

std::variant<store::ListQuery, ApiError> parse_list_query(std::string_view query) {
  store::ListQuery q;
  PageParams page;
  for (const auto& [key, value] : split_query(query)) {
    if (key == "model") {
      q.model = value;
    } else if (key.size() > 10 && key.compare(0, 9, "metadata[") == 0 && key.back() == ']') {
      std::string k = key.substr(9, key.size() - 10);
      if (k.empty() || utf8_chars(k) > kMaxMetadataKeyChars ||
          utf8_chars(value) > kMaxMetadataValueChars)
        return bad_metadata("filter keys must be 1 to 64 characters and values at most 512.");
      q.metadata[k] = value;
      if (q.metadata.size() > kMaxMetadataPairs)
        return bad_metadata("at most 16 metadata filters.");
    } else if (auto err = read_page_param(key, value, page)) {
      return *err;
    }
  }
  q.after = page.after;
  q.limit = page.limit;
  q.descending = page.descending;
  return q;
}

std::variant<PageParams, ApiError> parse_page_query(std::string_view query) {
  PageParams page;
  for (const auto& [key, value] : split_query(query)) {
    if (auto err = read_page_param(key, value, page)) return *err;
  }
  return page;
}

}  // namespace toolgate::gateway
