#include "gateway/storing_sink.h"

#include <spdlog/spdlog.h>

#include <utility>

namespace toolgate::gateway {

using nlohmann::json;

StoringSink::StoringSink(std::shared_ptr<ResponseSink> inner, StoreIntent intent,
                         store::CompletionStore* store, Post post)
    : inner_(std::move(inner)), intent_(std::move(intent)), store_(store), post_(std::move(post)) {}

void StoringSink::store_then(const json& completion, std::function<void()> then) {
  store::StoredCompletion row;
  row.id = completion.value("id", "");
  row.owner = intent_.owner;
  row.model = completion.value("model", "");
  row.created = completion.value("created", int64_t{0});
  row.metadata = intent_.metadata;
  row.request_json = intent_.request.dump();
  row.response_json = completion.dump();
  if (row.id.empty()) return then();
  auto self = shared_from_this();
  std::string id = row.id;
  store_->insert(std::move(row), [self, id, then = std::move(then)](store::WriteResult r) {
    if (r != store::WriteResult::Ok)
      spdlog::error("{}: store: the completion was not stored (see the error above)", id);
    self->post_(then);
  });
}

void StoringSink::send_response(HttpResponse response) {
  if (std::exchange(ended_, true)) return;
  if (response.status != 200) return inner_->send_response(std::move(response));
  auto body = json::parse(response.body, nullptr, /*allow_exceptions=*/false);
  if (!body.is_object() || body.value("object", "") != "chat.completion")
    return inner_->send_response(std::move(response));
  auto shared = std::make_shared<HttpResponse>(std::move(response));
  auto inner = inner_;
  store_then(body, [inner, shared] { inner->send_response(std::move(*shared)); });
}

void StoringSink::begin_stream(HttpResponse head) {
  stream_status_ = head.status;
  inner_->begin_stream(std::move(head));
}

// Splits complete `data: …\n\n` events off `pending_`: each is fed to the assembler and
// appended to `forward`, until `data: [DONE]`, which (with everything after it) is held.
void StoringSink::take_events(std::string& forward) {
  size_t start = 0;
  for (;;) {
    size_t end = pending_.find("\n\n", start);
    if (end == std::string::npos) break;
    std::string_view event(pending_.data() + start, end + 2 - start);
    std::string_view payload = event.substr(0, event.size() - 2);
    if (payload.substr(0, 5) == "data:") payload.remove_prefix(5);
    while (!payload.empty() && payload.front() == ' ') payload.remove_prefix(1);
    if (payload == "[DONE]") {
      done_seen_ = true;
      held_ = pending_.substr(start);
      pending_.clear();
      return;
    }
    auto chunk = json::parse(payload, nullptr, /*allow_exceptions=*/false);
    assembler_.add_chunk(chunk);
    const bool usage_only = chunk.is_object() && chunk.contains("usage") &&
                            chunk["usage"].is_object() && chunk.contains("choices") &&
                            chunk["choices"].is_array() && chunk["choices"].empty();
    if (!(usage_only && !intent_.client_wants_usage)) forward.append(event);
    start = end + 2;
  }
  pending_.erase(0, start);
}

void StoringSink::stream_data(std::string data) {
  if (ended_) return;
  if (done_seen_) {
    held_ += data;
    return;
  }
  pending_ += data;
  std::string forward;
  take_events(forward);
  if (!forward.empty()) inner_->stream_data(std::move(forward));
}

void StoringSink::end_stream() {
  if (std::exchange(ended_, true)) return;
  std::string rest = std::move(pending_) + std::move(held_);
  pending_.clear();
  held_.clear();
  auto inner = inner_;
  auto finish = [inner, rest = std::move(rest)]() mutable {
    if (!rest.empty()) inner->stream_data(std::move(rest));
    inner->end_stream();
  };
  if (stream_status_ != 200 || !done_seen_ || assembler_.failed() || assembler_.empty())
    return finish();
  store_then(assembler_.completion(), std::move(finish));
}

}  // namespace toolgate::gateway
