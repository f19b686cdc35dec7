#pragma once
// Where a chat completion's output goes: the HTTP session in the server, a recorder in tests.
// Every call happens on the session's strand.
#include <string>

#include "gateway/http_message.h"

namespace toolgate::gateway {

class ResponseSink {
 public:
  virtual ~ResponseSink() = default;
  // A whole response (non-streaming result, or an error before any stream began).
  virtual void send_response(HttpResponse response) = 0;
  // Status and headers of an SSE stream; stream_data() follows, then end_stream().
  virtual void begin_stream(HttpResponse head) = 0;
  virtual void stream_data(std::string data) = 0;
  virtual void end_stream() = 0;
};

}  // namespace toolgate::gateway
