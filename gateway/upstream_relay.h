#pragma once
// The byte-level parts of forwarding a chat completion to an upstream server, kept apart from
// the socket code so they can be tested on their own: the forwarded request body, rewriting
// `model` in responses and SSE events, and mapping upstream failures to OpenAI error objects.
#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "gateway/api_error.h"
#include "gateway/http_message.h"
#include "gateway/options.h"

namespace toolgate::gateway {

// A chat completion for an upstream model. The body is forwarded as the client sent it (the
// upstream validates it; our own parser would refuse what the remote model may accept, such
// as image parts), so only what the gateway itself needs is typed here.
struct UpstreamChatRequest {
  nlohmann::ordered_json body;  // the client's JSON object
  bool stream = false;
};

// Checks the few fields the gateway reads (an object; `stream` a boolean when present).
// Returns the request or a 400 naming the field.
std::variant<UpstreamChatRequest, ApiError> parse_upstream_chat_request(
    nlohmann::ordered_json body);

// The body sent upstream: `model` replaced by the remote name, and the model's sampling
// defaults filled in where the request leaves them out (as they are for local models).
std::string upstream_request_body(const UpstreamChatRequest& request,
                                  const std::string& remote_model,
                                  const SamplingDefaults& defaults);

// A JSON object's "model" set to `public_model`; anything that is not a JSON object with a
// "model" key is returned unchanged (an upstream may send what it likes; we relay it).
std::string rewrite_model_in_json(std::string_view json_text, const std::string& public_model);

// Splits an SSE byte stream into events (separated by a blank line; \n, \r\n or \r endings)
// as bytes arrive in arbitrary pieces.
class SseEventSplitter {
 public:
  // Complete events in `bytes` (plus what was buffered), each without its trailing blank line.
  std::vector<std::string> feed(std::string_view bytes);
  // What is left after the stream ended (an event without its blank line), or "".
  std::string take_rest();

 private:
  std::string buffer_;
};

// One upstream SSE event re-encoded for the client: `data:` lines that hold a JSON object get
// their "model" rewritten; other lines ([DONE], comments, event:) pass unchanged. Ends with
// the blank line.
struct RelayedSseEvent {
  std::string text;
  bool done = false;                    // the event was `data: [DONE]`
  std::optional<nlohmann::json> usage;  // the chunk's non-null "usage"
  bool has_error = false;               // an in-band {"error":...} event
};
RelayedSseEvent relay_sse_event(std::string_view event, const std::string& public_model);

// The upstream answered with an error status: its OpenAI error object is relayed with its
// status; a body that is not one (an HTML page from a proxy, ...) becomes an OpenAI error of
// type "upstream_error" with the same status and a message naming the upstream.
HttpResponse relay_upstream_error(int status, std::string_view body,
                                  const std::string& base_url);

// The upstream could not be reached (502) or did not answer in time (504).
ApiError upstream_unreachable(const std::string& base_url, const std::string& detail);
ApiError upstream_timeout(const std::string& base_url, std::chrono::milliseconds timeout);
// The connection broke or the upstream sent something unusable after the request was sent.
ApiError upstream_failed(const std::string& base_url, const std::string& detail);

}  // namespace toolgate::gateway
