#pragma once
// The stored chat completion endpoints, as in OpenAI's API reference:
//   GET    /v1/chat/completions                 list (model, metadata[k]=v, after, limit, order)
//   GET    /v1/chat/completions/{id}            retrieve
//   GET    /v1/chat/completions/{id}/messages   the request's messages (after, limit, order)
//   POST   /v1/chat/completions/{id}            update metadata
//   DELETE /v1/chat/completions/{id}            delete
// Parameter errors are answered at once; the store work is returned as a DeferredResponse for
// a worker thread (never an I/O thread). A completion belongs to the key that created it:
// other keys get 404 and never see it in a list.
#include <functional>
#include <string>
#include <variant>

#include "gateway/http_message.h"
#include "store/completion_store.h"

namespace toolgate::gateway {

// Blocking work whose result is the response (run on a worker thread).
struct DeferredResponse {
  std::function<HttpResponse()> run;
  // Where `run` runs instead, when set (live reload: its own thread, so a reload loading models
  // for seconds never holds a worker that renders prompts).
  std::function<void(std::function<void()>)> post;
};

using StoredCompletionsAction = std::variant<HttpResponse, DeferredResponse>;

class StoredCompletionsApi {
 public:
  explicit StoredCompletionsApi(store::CompletionStore* store) : store_(store) {}

  // True for the paths and methods above (POST /v1/chat/completions itself is not one).
  static bool handles(std::string_view path, std::string_view method);
  // `owner`: key_owner() of the authenticated request.
  StoredCompletionsAction route(const HttpRequest& request, const std::string& owner) const;
  // Prometheus lines: store write latency (a summary over the last writes) and failures.
  std::string metrics_text() const;

 private:
  store::CompletionStore* store_;
};

}  // namespace toolgate::gateway
