#pragma once
// Ollama's answer shapes for /api/chat and /api/generate, written from the chat job's stream
// (chat_stream_translator.h): NDJSON lines by default, one object with `stream: false`, the
// final object carrying done_reason and the measured durations (nanoseconds).
#include <memory>
#include <string>

#include "gateway/chat_stream_translator.h"

namespace toolgate::gateway {

struct OllamaOutputOptions {
  std::string model;  // the name the client used
  bool stream = true;
  bool generate = false;  // /api/generate: "response" instead of "message"
};

std::shared_ptr<ResponseSink> make_ollama_sink(std::shared_ptr<ResponseSink> out,
                                               OllamaOutputOptions options);

// {"error": message} with `status`.
HttpResponse ollama_error(int status, const std::string& message);
// RFC 3339 UTC with nanoseconds, as Ollama's created_at.
std::string ollama_timestamp_now();
std::string ollama_timestamp(int64_t unix_seconds);

}  // namespace toolgate::gateway
