#pragma once
// The seam that lets other APIs (Ollama's /api/chat and /api/generate, OpenAI's legacy
// /v1/completions, llama.cpp's /infill) share the chat completion job: the job always runs
// streamed with usage, and this sink reads its chat.completion.chunk events back, keeps each
// choice's text, logprobs and tool calls, and measures when the first token came. Subclasses
// write their own shape from that, either as a stream or as one response at the end, so a
// non-streamed answer still has real prefill and decode timings.
#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "gateway/response_sink.h"

namespace toolgate::gateway {

struct TranslatedChoice {
  std::string content;
  nlohmann::json logprobs = nlohmann::json::array();  // chat logprob entries, in order
  nlohmann::json tool_calls = nlohmann::json::array();  // whole calls, OpenAI shape
  nlohmann::json tool_runs = nlohmann::json::array();   // toolgate_tool_runs entries
  std::optional<std::string> finish_reason;
};

struct TranslatedUsage {
  int prompt_tokens = 0;
  int completion_tokens = 0;
  int cached_tokens = 0;
};

// An error of the job, in the OpenAI shape it was sent in.
struct TranslatedError {
  int status = 500;
  std::string message;
  std::string type;
  nlohmann::json param;  // null or string
  nlohmann::json code;
};

class ChatStreamTranslator : public ResponseSink {
 public:
  using Clock = std::chrono::steady_clock;
  ChatStreamTranslator(std::shared_ptr<ResponseSink> out, bool client_streams);

  void send_response(HttpResponse response) final;
  void begin_stream(HttpResponse head) final;
  void stream_data(std::string data) final;
  void end_stream() final;

 protected:
  // Streaming only: the content type of the client's stream.
  virtual std::string stream_content_type() const = 0;
  // Streaming only: what to send for a new piece of choice `index` (text and/or the logprob
  // entries that came with it), for a finished choice, and after the last choice (usage known).
  virtual std::string piece(int index, const std::string& text, const nlohmann::json& logprobs) = 0;
  virtual std::string choice_finished(int index) = 0;
  virtual std::string stream_end() = 0;
  virtual std::string stream_error(const TranslatedError& error) = 0;
  // Not streaming: the whole answer, or the error.
  virtual HttpResponse whole_response() = 0;
  virtual HttpResponse error_response(const TranslatedError& error) = 0;

  const std::vector<TranslatedChoice>& choices() const { return choices_; }
  const TranslatedUsage& usage() const { return usage_; }
  const std::string& completion_id() const { return id_; }
  int64_t created() const { return created_; }
  // Measured here: from the job's start to its first token (queueing, tokenizing, prefill) and
  // from the first token to the end (decoding).
  Clock::time_point started_at() const { return started_; }
  std::optional<Clock::time_point> first_token_at() const { return first_token_; }
  Clock::time_point ended_at() const { return ended_.value_or(Clock::now()); }

 private:
  void on_event(const nlohmann::json& event, std::string& out);
  TranslatedChoice& choice(int index);
  void absorb_tool_call_delta(TranslatedChoice& c, const nlohmann::json& delta);

  std::shared_ptr<ResponseSink> out_;
  bool client_streams_;
  bool stream_begun_ = false;
  bool ended_response_ = false;
  bool errored_ = false;
  std::vector<TranslatedChoice> choices_;
  TranslatedUsage usage_;
  std::string id_;
  int64_t created_ = 0;
  Clock::time_point started_ = Clock::now();
  std::optional<Clock::time_point> first_token_;
  std::optional<Clock::time_point> ended_;
};

// Reads an OpenAI error body ({"error":{...}}) sent with `status`.
TranslatedError read_translated_error(int status, const std::string& body);

// Milliseconds / nanoseconds between two instants (for the timing fields of the APIs).
double ms_between(ChatStreamTranslator::Clock::time_point a, ChatStreamTranslator::Clock::time_point b);
int64_t ns_between(ChatStreamTranslator::Clock::time_point a, ChatStreamTranslator::Clock::time_point b);

}  // namespace toolgate::gateway
