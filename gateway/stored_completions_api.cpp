#include "gateway/stored_completions_api.h"

#include <algorithm>

#include "gateway/api_error.h"
#include "gateway/http_api.h"
#include "gateway/stored_completion_params.h"

namespace toolgate::gateway {
namespace {

using nlohmann::ordered_json;

constexpr std::string_view kCollection = "/v1/chat/completions";
constexpr std::string_view kPrefix = "/v1/chat/completions/";
constexpr std::string_view kMessagesSuffix = "/messages";

std::string dump_ordered(const ordered_json& j) {
  return j.dump(-1, ' ', false, ordered_json::error_handler_t::replace);
}

ApiError not_found(const std::string& id) {
  return ApiError{404, "No chat completion found with id '" + id + "'.", "invalid_request_error",
                  std::nullopt, "not_found"};
}

ApiError unavailable(const std::string& detail) {
  return ApiError::unavailable("The completion store is unavailable: " + detail, 1);
}

ApiError method_not_allowed(const HttpRequest& req, const char* allow, HttpResponse* out) {
  ApiError e = ApiError::method_not_allowed(req.method, std::string(req.path()));
  *out = e.to_response();
  out->set_header("Allow", allow);
  return e;
}

// The stored completion as the API returns it: the chat.completion plus its metadata.
ordered_json completion_object(const store::StoredCompletion& c) {
  auto j = ordered_json::parse(c.response_json, nullptr, false);
  if (!j.is_object()) j = ordered_json::object();
  j["metadata"] = c.metadata;
  return j;
}

std::string query_of(const HttpRequest& req) {
  auto q = req.target.find('?');
  return q == std::string::npos ? "" : req.target.substr(q + 1);
}

// A message of the stored request as OpenAI lists it: `id` "<completion id>-<index>", and a
// content-parts array turned into `content_parts` with the text joined into `content`.
ordered_json store_message(const std::string& completion_id, size_t index,
                           const ordered_json& message) {
  ordered_json m;
  m["id"] = completion_id + "-" + std::to_string(index);
  for (const auto& [k, v] : message.items()) m[k] = v;
  auto content = message.find("content");
  if (content != message.end() && content->is_array()) {
    std::string text;
    for (const auto& part : *content) {
      if (part.is_object() && part.value("type", "") == "text") text += part.value("text", "");
    }
    m["content"] = text;
    m["content_parts"] = *content;
  } else {
    m["content_parts"] = nullptr;
  }
  return m;
}

HttpResponse list_messages(store::CompletionStore& store, const std::string& owner,
                           const std::string& id, const PageParams& page) {
  auto c = store.get(owner, id);
  if (!c) return not_found(id).to_response();
  auto request = ordered_json::parse(c->request_json, nullptr, false);
  std::vector<ordered_json> all;
  if (request.is_object() && request.contains("messages") && request["messages"].is_array()) {
    size_t i = 0;
    for (const auto& m : request["messages"]) all.push_back(store_message(id, i++, m));
  }
  if (page.descending) std::reverse(all.begin(), all.end());
  size_t start = 0;
  if (page.after) {
    auto it = std::find_if(all.begin(), all.end(),
                           [&](const ordered_json& m) { return m["id"] == *page.after; });
    if (it == all.end())
      return ApiError::invalid_request(
                 "Invalid 'after': no message '" + *page.after + "' in this chat completion.",
                 "after")
          .to_response();
    start = static_cast<size_t>(it - all.begin()) + 1;
  }
  ordered_json data = ordered_json::array();
  for (size_t i = start; i < all.size() && data.size() < static_cast<size_t>(page.limit); ++i)
    data.push_back(all[i]);
  const bool has_more = start + data.size() < all.size();
  ordered_json out = {
      {"object", "list"},
      {"data", data},
      {"first_id", data.empty() ? ordered_json(nullptr) : ordered_json(data.front()["id"])},
      {"last_id", data.empty() ? ordered_json(nullptr) : ordered_json(data.back()["id"])},
      {"has_more", has_more}};
  return json_response(200, dump_ordered(out));
}

HttpResponse list_completions(store::CompletionStore& store, store::ListQuery q) {
  store::ListPage page = store.list(q);
  if (page.after_not_found)
    return ApiError::invalid_request("Invalid 'after': no chat completion '" + *q.after + "'.",
                                     "after")
        .to_response();
  ordered_json data = ordered_json::array();
  for (const auto& c : page.items) data.push_back(completion_object(c));
  ordered_json out = {
      {"object", "list"},
      {"data", data},
      {"first_id",
       page.items.empty() ? ordered_json(nullptr) : ordered_json(page.items.front().id)},
      {"last_id", page.items.empty() ? ordered_json(nullptr) : ordered_json(page.items.back().id)},
      {"has_more", page.has_more}};
  return json_response(200, dump_ordered(out));
}

// Runs `f` and turns a store failure into a 503 (logged by the store).
template <class F>
DeferredResponse deferred(F f) {
  return DeferredResponse{[f = std::move(f)]() -> HttpResponse {
    try {
      return f();
    } catch (const store::StoreUnavailable& e) {
      return unavailable(e.what()).to_response();
    }
  }};
}

}  // namespace

std::string StoredCompletionsApi::metrics_text() const {
  const store::WriteLatency l = store_->write_latency();
  std::string out;
  out +=
      "# HELP toolgate:store_write_latency_seconds Stored completion writes, queued to "
      "committed (last 4096).\n";
  out += "# TYPE toolgate:store_write_latency_seconds summary\n";
  out += "toolgate:store_write_latency_seconds{quantile=\"0.5\"} " +
         std::to_string(l.p50_ms / 1000.0) + "\n";
  out += "toolgate:store_write_latency_seconds{quantile=\"0.99\"} " +
         std::to_string(l.p99_ms / 1000.0) + "\n";
  out += "toolgate:store_write_latency_seconds_count " + std::to_string(l.count) + "\n";
  out += "# HELP toolgate:store_write_failures_total Store writes that failed (logged).\n";
  out += "# TYPE toolgate:store_write_failures_total counter\n";
  out += "toolgate:store_write_failures_total " + std::to_string(l.failed) + "\n";
  return out;
}

bool StoredCompletionsApi::handles(std::string_view path, std::string_view method) {
  if (path == kCollection) return method == "GET" || method == "HEAD";
  return path.size() > kPrefix.size() && path.substr(0, kPrefix.size()) == kPrefix;
}

StoredCompletionsAction StoredCompletionsApi::route(const HttpRequest& req,
                                                    const std::string& owner) const {
  std::string path(req.path());
  store::CompletionStore* store = store_;
  if (path == kCollection) {
    auto parsed = parse_list_query(query_of(req));
    if (auto* err = std::get_if<ApiError>(&parsed)) return err->to_response();
    auto q = std::get<store::ListQuery>(parsed);
    q.owner = owner;
    return deferred([store, q] { return list_completions(*store, q); });
  }
  std::string rest = url_decode(std::string_view(path).substr(kPrefix.size()));
  bool messages = false;
  if (rest.size() > kMessagesSuffix.size() &&
      rest.compare(rest.size() - kMessagesSuffix.size(), kMessagesSuffix.size(), kMessagesSuffix) ==
          0) {
    messages = true;
    rest.resize(rest.size() - kMessagesSuffix.size());
  }
  if (!valid_completion_id(rest))
    return ApiError::invalid_request(
               "Invalid chat completion id: expected 1 to 128 letters, "
               "digits, '_', '-', '.' or ':'.",
               "completion_id")
        .to_response();
  const std::string id = rest;
  HttpResponse not_allowed;

  if (messages) {
    if (req.method != "GET" && req.method != "HEAD") {
      method_not_allowed(req, "GET, HEAD", &not_allowed);
      return not_allowed;
    }
    auto parsed = parse_page_query(query_of(req));
    if (auto* err = std::get_if<ApiError>(&parsed)) return err->to_response();
    auto page = std::get<PageParams>(parsed);
    return deferred([store, owner, id, page] { return list_messages(*store, owner, id, page); });
  }

  if (req.method == "GET" || req.method == "HEAD") {
    return deferred([store, owner, id]() -> HttpResponse {
      auto c = store->get(owner, id);
      if (!c) return not_found(id).to_response();
      return json_response(200, dump_ordered(completion_object(*c)));
    });
  }
  if (req.method == "DELETE") {
    return deferred([store, owner, id]() -> HttpResponse {
      switch (store->remove(owner, id)) {
        case store::WriteResult::Ok:
          return json_response(
              200, dump_ordered(ordered_json{
                       {"object", "chat.completion.deleted"}, {"id", id}, {"deleted", true}}));
        case store::WriteResult::NotFound:
          return not_found(id).to_response();
        case store::WriteResult::Failed:
          break;
      }
      return unavailable("the delete could not be written (see the server log)").to_response();
    });
  }
  if (req.method == "POST") {
    auto body = ordered_json::parse(req.body, nullptr, false);
    if (body.is_discarded()) return ApiError::invalid_json("invalid JSON").to_response();
    if (!body.is_object() || !body.contains("metadata"))
      return ApiError::invalid_request("Missing required parameter: 'metadata'.", "metadata")
          .to_response();
    auto parsed = parse_metadata(body["metadata"]);
    if (auto* err = std::get_if<ApiError>(&parsed)) return err->to_response();
    auto metadata = std::get<store::Metadata>(parsed);
    return deferred([store, owner, id, metadata]() -> HttpResponse {
      switch (store->update_metadata(owner, id, metadata)) {
        case store::WriteResult::Ok:
          break;
        case store::WriteResult::NotFound:
          return not_found(id).to_response();
        case store::WriteResult::Failed:
          return unavailable("the update could not be written (see the server log)").to_response();
      }
      auto c = store->get(owner, id);
      if (!c) return not_found(id).to_response();
      return json_response(200, dump_ordered(completion_object(*c)));
    });
  }
  method_not_allowed(req, "GET, HEAD, POST, DELETE", &not_allowed);
  return not_allowed;
}

}  // namespace toolgate::gateway
