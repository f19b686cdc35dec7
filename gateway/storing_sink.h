#pragma once
// Stores a chat completion made with `store: true` on its way to the client. Sits between the
// job and the session as a ResponseSink: a non-streamed 200 is stored as sent; a stream is
// passed through event by event while CompletionAssembler rebuilds the completion, and the
// final `data: [DONE]` is held back until the row is committed. So a client that has seen the
// end of its response can rely on the completion being in the database, even if the process
// is killed the next moment. A failed write is logged and the response still completes.
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "gateway/chat_completion_job.h"
#include "gateway/completion_assembler.h"
#include "gateway/response_sink.h"
#include "store/completion_store.h"

namespace toolgate::gateway {

// What a POST /v1/chat/completions with `store: true` asks to keep.
struct StoreIntent {
  std::string owner;  // key_owner() of the request
  store::Metadata metadata;
  nlohmann::ordered_json request;  // the body as sent, without `store` and `metadata`
  // The server asks the job for a usage chunk so the stored completion has usage; it is not
  // passed on to a client that did not ask for it.
  bool client_wants_usage = true;
};

class StoringSink : public ResponseSink, public std::enable_shared_from_this<StoringSink> {
 public:
  // `post` runs a function on the session's strand (write callbacks come from the store's
  // writer thread).
  StoringSink(std::shared_ptr<ResponseSink> inner, StoreIntent intent,
              store::CompletionStore* store, Post post);

  void send_response(HttpResponse response) override;
  void begin_stream(HttpResponse head) override;
  void stream_data(std::string data) override;
  void end_stream() override;

 private:
  // Stores `completion`, then runs `then` on the strand (whatever the outcome).
  void store_then(const nlohmann::json& completion, std::function<void()> then);
  void take_events(std::string& forward);

  std::shared_ptr<ResponseSink> inner_;
  StoreIntent intent_;
  store::CompletionStore* store_;
  Post post_;
  int stream_status_ = 0;
  CompletionAssembler assembler_;
  std::string pending_;  // bytes of an event not yet complete
  std::string held_;     // `data: [DONE]` and whatever followed it
  bool done_seen_ = false;
  bool ended_ = false;  // the job ended the response; anything later is ignored
};

}  // namespace toolgate::gateway
