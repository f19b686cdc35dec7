#pragma once
// One POST /v1/chat/completions from admission to the last byte: renders the prompt (on a
// worker), submits n sequences to the engine, turns token events into content / tool-call
// deltas through the model's tool-call parser, runs the server-tool loop, and writes either one
// chat.completion or a stream of chat.completion.chunk events to a ResponseSink.
//
// Threading: all state lives on one serial executor (the session's strand), reached through
// JobEnvironment::post; engine callbacks arrive on the engine thread and only post. Blocking
// work (template rendering, tokenizing, server tools) goes through post_blocking.
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "gateway/chat_request.h"
#include "gateway/options.h"
#include "gateway/response_sink.h"

namespace toolgate::gateway {

class Metrics;
class ModelCatalog;
class ServerToolbox;

using Post = std::function<void(std::function<void()>)>;

struct JobEnvironment {
  Post post;           // the session's strand
  Post post_blocking;  // a worker thread
  const ServerToolbox* toolbox = nullptr;
  Metrics* metrics = nullptr;
  int max_tokens_per_request = 4096;
  uint64_t max_schema_bytes = 128 << 10;
  int max_schema_depth = 32;
  int max_tool_rounds = 4;
  std::chrono::milliseconds tool_timeout{10'000};
  int retry_after_seconds = 1;
};

struct JobSummary {
  std::string model;
  int status = 200;  // 499: the client went away
  int prompt_tokens = 0;
  int completion_tokens = 0;
  double ttft_ms = -1;  // -1: no token was generated
  double total_ms = 0;
};

// The end of every job (local or upstream): completes `s` with the TTFT (from `first_output`, if
// any) and the total time since `arrival`, records the e2e latency of a 200 in `metrics`, and
// hands it to `on_done` once (which is left empty).
void report_job_done(JobSummary s, std::chrono::steady_clock::time_point arrival,
                     std::optional<std::chrono::steady_clock::time_point> first_output,
                     Metrics* metrics, std::function<void(const JobSummary&)>& on_done);

class ChatCompletionJob {
 public:
  virtual ~ChatCompletionJob() = default;

  // `model` must point into `catalog`, which the job keeps alive. `on_done` runs once, on the
  // strand, when the response has ended and no engine sequence or worker task of the job is
  // left (the moment its admission slot may be given back).
  static std::shared_ptr<ChatCompletionJob> create(ChatCompletionRequest request,
                                                   std::shared_ptr<const ModelCatalog> catalog,
                                                   const ServedModel* model, JobEnvironment env,
                                                   std::shared_ptr<ResponseSink> sink,
                                                   std::function<void(const JobSummary&)> on_done,
                                                   std::chrono::steady_clock::time_point arrival);

  virtual void start() = 0;     // on the strand
  virtual void abandon() = 0;   // the client went away: cancel everything, write nothing more
  virtual void shutdown() = 0;  // the server is stopping: cancel, end the response with 503
  // The request ran past the server's request timeout: cancel, end the response with 504.
  virtual void time_out(std::chrono::milliseconds limit) = 0;
};

}  // namespace toolgate::gateway
