#include "gateway/upstream_chat_job.h"

#include <spdlog/spdlog.h>

#include "gateway/affinity_key.h"
#include "gateway/api_error.h"
#include "gateway/metrics.h"
#include "gateway/model_catalog.h"
#include "gateway/sse.h"
#include "gateway/upstream_client.h"
#include "gateway/upstream_pool.h"
#include "gateway/upstream_target.h"
#include "gateway/upstream_tool_loop_job.h"
#include "gateway/upstream_tool_rounds.h"

namespace toolgate::gateway {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

// A non-streamed answer larger than this is not a chat completion we want to hold in memory.
constexpr size_t kMaxBufferedBody = 64u << 20;

double ms_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

class UpstreamChatJob final : public ChatCompletionJob,
                              public std::enable_shared_from_this<UpstreamChatJob> {
 public:
  UpstreamChatJob(UpstreamChatRequest request, std::shared_ptr<const ModelCatalog> catalog,
                  const ServedModel* model, JobEnvironment env, std::shared_ptr<ResponseSink> sink,
                  std::function<void(const JobSummary&)> on_done, Clock::time_point arrival,
                  boost::asio::any_io_executor executor)
      : req_(std::move(request)),
        catalog_(std::move(catalog)),
        model_(*model),
        target_(model->upstream),
        pool_(model->upstream_pool),
        env_(std::move(env)),
        sink_(std::move(sink)),
        on_done_(std::move(on_done)),
        arrival_(arrival),
        executor_(std::move(executor)) {}

  void start() override {
    if (!target_) return fail(ApiError::internal("model '" + model_.id + "' has no upstream"));
    try {
      body_ = upstream_request_body(req_, target_->remote_model, model_.sampling);
    } catch (const std::exception& e) {
      return fail(ApiError::internal(std::string("internal error: ") + e.what()));
    }
    if (!pool_) return start_attempt();
    if (pool_->options().policy == BalancePolicy::PrefixAffinity)
      affinity_key_ = upstream_affinity_key(req_.body);
    auto member = pool_->acquire(affinity_key_, tried_);
    if (!member)
      return fail(ApiError::unavailable(pool_->unavailable_reason(), env_.retry_after_seconds));
    use_member(*member);
    start_attempt();
  }

 private:
  void use_member(size_t member) {
    member_ = member;
    tried_.push_back(member);
    target_ = pool_->target(member);
    attempt_started_ = Clock::now();
  }

  void release_member(MemberOutcome outcome) {
    if (!member_) return;
    const double seconds = std::chrono::duration<double>(Clock::now() - attempt_started_).count();
    pool_->release(*member_, outcome, seconds);
    member_.reset();
  }

  // Another member for a retry, within the request's and the pool's budgets; nothing has
  // reached the client yet when this is asked.
  std::optional<size_t> retry_member() {
    if (!pool_) return std::nullopt;
    return pool_->acquire_retry(affinity_key_, tried_);
  }

  // Gives up the current attempt (already failed, nothing relayed) for one on `next`.
  void retry_on(size_t next, const std::string& why) {
    spdlog::warn("model '{}': upstream {} failed ({}); retrying on {}", model_.id,
                 target_->base_url, why, pool_->target(next)->base_url);
    cancel_exchange(MemberOutcome::Failure);
    status_ = 0;
    content_type_.clear();
    buffered_.clear();
    splitter_ = SseEventSplitter();
    pending_stream_ = false;
    use_member(next);
    start_attempt();
  }

  void start_attempt() {
    auto self = shared_from_this();
    UpstreamExchange::Handlers h;
    h.on_head = [self](int status, std::string content_type) {
      self->on_head(status, std::move(content_type));
    };
    h.on_data = [self](std::string data) { self->on_data(std::move(data)); };
    h.on_end = [self](std::optional<UpstreamFailure> failure) { self->on_end(std::move(failure)); };
    exchange_ = UpstreamExchange::start(executor_, target_, "/chat/completions", body_, req_.stream,
                                        std::move(h));
  }

 public:
  void abandon() override {
    if (abandoned_) return;
    abandoned_ = true;
    if (!response_ended_ && env_.metrics) env_.metrics->count_client_disconnect();
    if (!response_ended_) status_ = 499;
    response_ended_ = true;
    sink_.reset();
    cancel_exchange();  // the upstream sees the connection close and stops generating
    maybe_done();
  }

  void shutdown() override {
    stop(ApiError::unavailable("The server is shutting down.", env_.retry_after_seconds));
  }

  void time_out(std::chrono::milliseconds limit) override {
    stop(ApiError::request_timeout(limit));
  }

 private:
  void stop(const ApiError& reason) {
    if (response_ended_) return;
    cancel_exchange();
    fail(reason);
  }

  void cancel_exchange(MemberOutcome outcome = MemberOutcome::Cancelled) {
    if (auto ex = std::move(exchange_)) ex->cancel();
    release_member(outcome);
  }

  void on_head(int status, std::string content_type) {
    if (response_ended_) return;
    status_ = status;
    content_type_ = std::move(content_type);
    if (status == 502 || status == 503 || status == 504) {
      if (auto next = retry_member()) return retry_on(*next, "HTTP " + std::to_string(status));
    }
    const bool sse = content_type_.find("text/event-stream") != std::string::npos;
    // The client's stream begins with the first event, not the upstream's head: a replica
    // that dies before its first event can still be replaced without the client noticing.
    if (req_.stream && status / 100 == 2 && sse) pending_stream_ = true;
  }

  void begin_client_stream() {
    pending_stream_ = false;
    HttpResponse head;
    head.status = 200;
    head.headers = {{"Content-Type", "text/event-stream; charset=utf-8"},
                    {"Cache-Control", "no-cache"},
                    {"X-Accel-Buffering", "no"}};
    streaming_ = true;
    sink_->begin_stream(std::move(head));
  }

  void on_data(std::string data) {
    if (response_ended_) return;
    if (pending_stream_) begin_client_stream();
    if (!streaming_) {
      if (buffered_.size() + data.size() > kMaxBufferedBody) {
        cancel_exchange();
        return fail(upstream_failed(target_->base_url, "the response is larger than 64 MiB"));
      }
      buffered_ += data;
      return;
    }
    std::string out;
    for (const auto& event : splitter_.feed(data)) out += relay(event);
    if (!out.empty()) sink_->stream_data(std::move(out));
  }

  std::string relay(const std::string& event) {
    RelayedSseEvent r = relay_sse_event(event, model_.id);
    if (r.done) done_seen_ = true;
    if (r.usage) note_usage(*r.usage);
    if (!first_event_at_) {
      first_event_at_ = Clock::now();
      if (env_.metrics)
        env_.metrics->observe_time_to_first_token(ms_between(arrival_, *first_event_at_) / 1e3);
    }
    return std::move(r.text);
  }

  void on_end(std::optional<UpstreamFailure> failure) {
    exchange_.reset();
    if (response_ended_) {
      release_member(MemberOutcome::Cancelled);
      return maybe_done();
    }
    // Connect errors and connections that broke before anything reached the client (for a
    // non-streamed answer: anywhere in the body, which is still buffered) go to another member.
    // A stream that ended before its first event (a close-delimited body cut by a dying
    // replica looks like a normal end) relayed nothing either.
    if (!failure && pending_stream_)
      failure =
          UpstreamFailure{UpstreamFailure::Kind::Broken, "the stream ended before its first event"};
    if (failure && !streaming_ && failure->kind != UpstreamFailure::Kind::Timeout) {
      if (auto next = retry_member()) return retry_on(*next, failure->detail);
    }
    release_member(failure || status_ >= 500 ? MemberOutcome::Failure : MemberOutcome::Success);
    if (pending_stream_ && !failure) begin_client_stream();
    if (streaming_) return end_stream(failure);
    if (failure) {
      if (status_ == 0 && failure->kind == UpstreamFailure::Kind::Timeout)
        return fail(upstream_timeout(target_->base_url, target_->timeout));
      if (status_ == 0 && failure->kind == UpstreamFailure::Kind::Unreachable)
        return fail(upstream_unreachable(target_->base_url, failure->detail));
      if (failure->kind == UpstreamFailure::Kind::Timeout)
        return fail(upstream_timeout(target_->base_url, target_->timeout));
      return fail(upstream_failed(target_->base_url, failure->detail));
    }
    if (status_ / 100 != 2) {
      spdlog::warn("model '{}': upstream {} answered HTTP {}", model_.id, target_->base_url,
                   status_);
      HttpResponse r = relay_upstream_error(status_, buffered_, target_->base_url);
      return finish_with(std::move(r));
    }
    json parsed = json::parse(buffered_, nullptr, /*allow_exceptions=*/false);
    if (parsed.is_object()) {
      if (auto u = parsed.find("usage"); u != parsed.end() && u->is_object()) note_usage(*u);
    }
    HttpResponse r;
    r.status = status_;
    r.headers.emplace_back("Content-Type",
                           content_type_.empty() ? "application/json" : content_type_);
    r.body = rewrite_model_in_json(buffered_, model_.id);
    finish_with(std::move(r));
  }

  // The SSE stream from the upstream has ended: flush, and make sure the client's stream ends
  // the way OpenAI's does (an error event if it broke off, then [DONE]).
  void end_stream(const std::optional<UpstreamFailure>& failure) {
    std::string out;
    if (std::string rest = splitter_.take_rest(); !rest.empty()) out += relay(rest);
    if (!done_seen_) {
      ApiError err = !failure
                         ? upstream_failed(target_->base_url, "the stream ended without [DONE]")
                     : failure->kind == UpstreamFailure::Kind::Timeout
                         ? upstream_timeout(target_->base_url, target_->timeout)
                         : upstream_failed(target_->base_url, failure->detail);
      spdlog::warn("model '{}': {}", model_.id, err.message);
      out += sse_event(json::parse(err.to_json()));
      out += sse_done();
      status_ = err.status;
    }
    if (!out.empty()) sink_->stream_data(std::move(out));
    response_ended_ = true;
    sink_->end_stream();
    maybe_done();
  }

  void note_usage(const json& u) {
    if (auto p = u.find("prompt_tokens"); p != u.end() && p->is_number_integer())
      prompt_tokens_ = p->get<int>();
    if (auto c = u.find("completion_tokens"); c != u.end() && c->is_number_integer())
      completion_tokens_ = c->get<int>();
  }

  void finish_with(HttpResponse r) {
    if (response_ended_) return;
    status_ = r.status;
    response_ended_ = true;
    sink_->send_response(std::move(r));
    maybe_done();
  }

  void fail(const ApiError& err) {
    if (response_ended_) return;
    if (err.status >= 500 && err.status != 503)
      spdlog::warn("model '{}': {}", model_.id, err.message);
    status_ = err.status;
    response_ended_ = true;
    if (streaming_) {
      sink_->stream_data(sse_event(json::parse(err.to_json())) + std::string(sse_done()));
      sink_->end_stream();
    } else {
      sink_->send_response(err.to_response());
    }
    maybe_done();
  }

  void maybe_done() {
    if (done_reported_ || !response_ended_ || exchange_) return;
    done_reported_ = true;
    report_job_done({model_.id, status_, prompt_tokens_, completion_tokens_}, arrival_,
                    first_event_at_, env_.metrics, on_done_);
  }

  UpstreamChatRequest req_;
  std::shared_ptr<const ModelCatalog> catalog_;  // keeps model_ alive
  const ServedModel& model_;
  std::shared_ptr<const UpstreamTarget> target_;  // the member of the current attempt
  std::shared_ptr<UpstreamPool> pool_;
  std::optional<size_t> member_;  // acquired from pool_, released exactly once per attempt
  std::vector<size_t> tried_;
  uint64_t affinity_key_ = 0;
  Clock::time_point attempt_started_;
  std::string body_;             // kept for retries
  bool pending_stream_ = false;  // an SSE head came; the client's stream starts with its data
  JobEnvironment env_;
  std::shared_ptr<ResponseSink> sink_;
  std::function<void(const JobSummary&)> on_done_;
  Clock::time_point arrival_;
  boost::asio::any_io_executor executor_;
  std::shared_ptr<UpstreamExchange> exchange_;

  SseEventSplitter splitter_;
  std::string buffered_;  // non-streamed body
  std::string content_type_;
  int status_ = 0;  // the upstream's, until the response ends; then what the client got
  bool streaming_ = false;
  bool done_seen_ = false;
  bool response_ended_ = false;
  bool abandoned_ = false;
  bool done_reported_ = false;
  int prompt_tokens_ = 0;
  int completion_tokens_ = 0;
  std::optional<Clock::time_point> first_event_at_;
};

}  // namespace

std::shared_ptr<ChatCompletionJob> make_upstream_chat_job(
    UpstreamChatRequest request, std::shared_ptr<const ModelCatalog> catalog,
    const ServedModel* model, JobEnvironment env, std::shared_ptr<ResponseSink> sink,
    std::function<void(const JobSummary&)> on_done, Clock::time_point arrival,
    boost::asio::any_io_executor executor) {
  auto plan = plan_upstream_tools(request, *model, env.toolbox);
  auto* p = std::get_if<UpstreamToolPlan>(&plan);
  if (!p || !p->server_tools.empty())
    return make_upstream_tool_loop_job(std::move(request), std::move(plan), std::move(catalog),
                                       model, std::move(env), std::move(sink), std::move(on_done),
                                       arrival, std::move(executor));
  // No server tool in play: a pure relay. Name-only declarations of server tools (under
  // tool_choice "none") still get their schema, which the upstream would otherwise miss.
  if (!p->tools.is_null()) request.body["tools"] = std::move(p->tools);
  return std::make_shared<UpstreamChatJob>(std::move(request), std::move(catalog), model,
                                           std::move(env), std::move(sink), std::move(on_done),
                                           arrival, std::move(executor));
}

}  // namespace toolgate::gateway
