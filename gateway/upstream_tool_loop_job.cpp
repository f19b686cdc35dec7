#include "gateway/upstream_tool_loop_job.h"

#include <spdlog/spdlog.h>

#include "gateway/affinity_key.h"
#include "gateway/api_error.h"
#include "gateway/chat_response.h"
#include "gateway/metrics.h"
#include "gateway/model_catalog.h"
#include "gateway/server_tool_runner.h"
#include "gateway/sse.h"
#include "gateway/upstream_client.h"
#include "gateway/upstream_pool.h"
#include "gateway/upstream_target.h"

namespace toolgate::gateway {
namespace {

using nlohmann::json;
using ojson = nlohmann::ordered_json;
using Clock = std::chrono::steady_clock;

// A round's answer larger than this is not a chat completion we want to hold in memory.
constexpr size_t kMaxRoundBody = 64u << 20;

double ms_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

bool include_usage_of(const std::variant<UpstreamToolPlan, ApiError>& plan) {
  const auto* p = std::get_if<UpstreamToolPlan>(&plan);
  return p && p->include_usage;
}

class UpstreamToolLoopJob final : public ChatCompletionJob,
                                  public std::enable_shared_from_this<UpstreamToolLoopJob> {
 public:
  UpstreamToolLoopJob(UpstreamChatRequest request, std::variant<UpstreamToolPlan, ApiError> plan,
                      std::shared_ptr<const ModelCatalog> catalog, const ServedModel* model,
                      JobEnvironment env, std::shared_ptr<ResponseSink> sink,
                      std::function<void(const JobSummary&)> on_done, Clock::time_point arrival,
                      boost::asio::any_io_executor executor)
      : req_(std::move(request)),
        planned_(std::move(plan)),
        catalog_(std::move(catalog)),
        model_(*model),
        target_(model->upstream),
        pool_(model->upstream_pool),
        env_(std::move(env)),
        sink_(std::move(sink)),
        on_done_(std::move(on_done)),
        arrival_(arrival),
        executor_(std::move(executor)),
        id_(make_completion_id()),
        created_(std::chrono::duration_cast<std::chrono::seconds>(
                     std::chrono::system_clock::now().time_since_epoch())
                     .count()),
        chunks_(id_, created_, model_.id, include_usage_of(planned_)) {}

  void start() override {
    guarded([&] {
      if (auto* err = std::get_if<ApiError>(&planned_)) return fail(*err);
      plan_ = std::move(std::get<UpstreamToolPlan>(planned_));
      if (!target_) return fail(ApiError::internal("model '" + model_.id + "' has no upstream"));
      if (!env_.toolbox) return fail(ApiError::internal("no toolbox for server tools"));
      messages_ = req_.body["messages"];
      send_round();
    });
  }

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
  // ---- one round with the upstream ---------------------------------------------------------

  void send_round() {
    ++round_;
    std::optional<int> left;
    if (plan_.max_tokens) left = *plan_.max_tokens - usage_.completion_tokens;
    round_body_ = upstream_round_body(req_, plan_, messages_, round_, left, target_->remote_model,
                                      model_.sampling);
    // Each round is balanced on its own, and fails over like a plain request (retry_member):
    // nothing of a round reaches the client before the whole answer is in.
    tried_.clear();
    if (pool_) {
      auto member = pool_->acquire(upstream_affinity_key(req_.body), tried_);
      if (!member)
        return fail(ApiError::unavailable(pool_->unavailable_reason(), env_.retry_after_seconds));
      use_member(*member);
    }
    start_round_attempt();
  }

  void use_member(size_t member) {
    member_ = member;
    tried_.push_back(member);
    target_ = pool_->target(member);
    round_started_ = std::chrono::steady_clock::now();
  }

  // Another member for this round, within the request's and the pool's retry budgets.
  std::optional<size_t> retry_member() {
    if (!pool_) return std::nullopt;
    return pool_->acquire_retry(upstream_affinity_key(req_.body), tried_);
  }

  void start_round_attempt() {
    upstream_status_ = 0;
    buffered_.clear();
    auto self = shared_from_this();
    UpstreamExchange::Handlers h;
    h.on_head = [self](int status, std::string) { self->upstream_status_ = status; };
    h.on_data = [self](std::string data) { self->on_data(std::move(data)); };
    h.on_end = [self](std::optional<UpstreamFailure> failure) {
      self->guarded([&] { self->on_round_end(std::move(failure)); });
    };
    exchange_ = UpstreamExchange::start(executor_, target_, "/chat/completions", round_body_,
                                        /*stream=*/false, std::move(h));
  }

  void on_data(std::string data) {
    if (response_ended_) return;
    if (buffered_.size() + data.size() > kMaxRoundBody) {
      cancel_exchange();
      return fail(upstream_failed(target_->base_url, "the response is larger than 64 MiB"));
    }
    buffered_ += data;
  }

  void release_member(MemberOutcome outcome) {
    if (!member_) return;
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - round_started_).count();
    pool_->release(*member_, outcome, seconds);
    member_.reset();
  }

  void on_round_end(std::optional<UpstreamFailure> failure) {
    exchange_.reset();
    release_member(response_ended_                      ? MemberOutcome::Cancelled
                   : failure || upstream_status_ >= 500 ? MemberOutcome::Failure
                                                        : MemberOutcome::Success);
    if (response_ended_) return maybe_done();
    const bool retryable = failure ? failure->kind != UpstreamFailure::Kind::Timeout
                                   : upstream_status_ == 502 || upstream_status_ == 503 ||
                                         upstream_status_ == 504;
    if (retryable) {
      if (auto next = retry_member()) {
        spdlog::warn("model '{}': upstream {} failed in round {} ({}); retrying on {}", model_.id,
                     target_->base_url, round_,
                     failure ? failure->detail : "HTTP " + std::to_string(upstream_status_),
                     pool_->target(*next)->base_url);
        use_member(*next);
        return start_round_attempt();
      }
    }
    if (failure) {
      if (failure->kind == UpstreamFailure::Kind::Timeout)
        return fail(upstream_timeout(target_->base_url, target_->timeout));
      if (upstream_status_ == 0 && failure->kind == UpstreamFailure::Kind::Unreachable)
        return fail(upstream_unreachable(target_->base_url, failure->detail));
      return fail(upstream_failed(target_->base_url, failure->detail));
    }
    if (upstream_status_ / 100 != 2) {
      spdlog::warn("model '{}': upstream {} answered HTTP {} in round {}", model_.id,
                   target_->base_url, upstream_status_, round_);
      return fail_with(relay_upstream_error(upstream_status_, buffered_, target_->base_url));
    }
    std::string why;
    auto round = parse_upstream_round(buffered_, &why);
    buffered_.clear();
    if (!round) return fail(upstream_failed(target_->base_url, why));
    take_round(std::move(*round));
  }

  void take_round(UpstreamRound r) {
    usage_.prompt_tokens += r.usage.prompt_tokens;
    usage_.completion_tokens += r.usage.completion_tokens;
    usage_.cached_tokens += r.usage.cached_tokens;
    if (req_.stream && !stream_started_) begin_stream();
    content_ += r.content;
    if (r.logprobs_content.is_array())
      for (const auto& e : r.logprobs_content) logprobs_.push_back(e);
    const bool has_logprobs = r.logprobs_content.is_array() && !r.logprobs_content.empty();
    if (req_.stream && (!r.content.empty() || has_logprobs)) {
      json chunk = chunks_.content_chunk(0, r.content, nullptr);
      if (has_logprobs)
        chunk["choices"][0]["logprobs"] = {{"content", r.logprobs_content}, {"refusal", nullptr}};
      sink_->stream_data(sse_event(chunk));
    }

    std::vector<ToolCall> server_calls, client_calls;
    for (const auto& call : r.tool_calls)
      (plan_.server_tools.count(call.name) ? server_calls : client_calls).push_back(call);
    if (!server_calls.empty() && tool_rounds_ < env_.max_tool_rounds && r.finish_reason != "length")
      return run_tools(std::move(server_calls), std::move(client_calls), std::move(r.content));
    // Out of tool rounds: calls to server tools go back to the client like any other.
    client_calls_ = std::move(r.tool_calls);
    finish(client_calls_.empty() ? r.finish_reason : "tool_calls");
  }

  // ---- the server tools --------------------------------------------------------------------

  void run_tools(std::vector<ToolCall> server_calls, std::vector<ToolCall> client_calls,
                 std::string round_content) {
    ++pending_work_;
    ++tool_rounds_;
    held_client_calls_ = std::move(client_calls);
    round_content_ = std::move(round_content);
    auto self = shared_from_this();
    env_.post_blocking([self, calls = std::move(server_calls), round = tool_rounds_,
                        toolbox = env_.toolbox, timeout = env_.tool_timeout]() mutable {
      std::vector<ToolRun> runs = run_server_tool_calls(*toolbox, calls, round, timeout, self->id_);
      self->env_.post([self, runs = std::move(runs)]() mutable {
        self->guarded([&] { self->on_tools_done(std::move(runs)); });
      });
    });
  }

  void on_tools_done(std::vector<ToolRun> runs) {
    --pending_work_;
    if (response_ended_) return maybe_done();
    if (env_.metrics)
      for (const auto& r : runs) env_.metrics->count_tool_run(r.ok);
    if (req_.stream) sink_->stream_data(sse_event(chunks_.tool_runs_chunk(0, runs)));
    append_tool_round(messages_, round_content_, runs);
    for (auto& r : runs) tool_runs_.push_back(std::move(r));
    if (!held_client_calls_.empty()) {
      // Client calls in the same round: they go back to the client, the loop stops here.
      client_calls_ = std::move(held_client_calls_);
      return finish("tool_calls");
    }
    // max_tokens is a budget over all rounds.
    if (plan_.max_tokens && usage_.completion_tokens >= *plan_.max_tokens) return finish("length");
    send_round();
  }

  // ---- endings -----------------------------------------------------------------------------

  void begin_stream() {
    HttpResponse head;
    head.status = 200;
    head.headers = {{"Content-Type", "text/event-stream; charset=utf-8"},
                    {"Cache-Control", "no-cache"},
                    {"X-Accel-Buffering", "no"}};
    stream_started_ = true;
    sink_->begin_stream(std::move(head));
    sink_->stream_data(sse_event(chunks_.role_chunk(0)));
    first_event_at_ = Clock::now();
    if (env_.metrics)
      env_.metrics->observe_time_to_first_token(ms_between(arrival_, *first_event_at_) / 1e3);
  }

  void finish(const std::string& reason) {
    if (response_ended_) return;
    if (req_.stream) {
      std::string out;
      if (!client_calls_.empty()) {
        std::vector<ToolCallDeltaOut> deltas;
        for (size_t i = 0; i < client_calls_.size(); ++i) {
          const ToolCall& c = client_calls_[i];
          deltas.push_back({static_cast<int>(i), c.id, c.name, c.arguments});
        }
        out += sse_event(chunks_.tool_calls_chunk(0, deltas));
      }
      out += sse_event(chunks_.finish_chunk(0, reason));
      if (plan_.include_usage) out += sse_event(chunks_.usage_chunk(usage_));
      out += sse_done();
      sink_->stream_data(std::move(out));
      sink_->end_stream();
    } else {
      ChoiceResult c;
      c.content = std::move(content_);
      c.tool_calls = std::move(client_calls_);
      c.tool_runs = std::move(tool_runs_);
      c.finish_reason = reason;
      json j = completion_json(id_, created_, model_.id, {c}, usage_);
      if (!logprobs_.empty())
        j["choices"][0]["logprobs"] = {{"content", std::move(logprobs_)}, {"refusal", nullptr}};
      sink_->send_response(json_response(200, dump_json(j)));
    }
    status_ = 200;
    end_response();
  }

  void stop(const ApiError& reason) {
    if (response_ended_) return;
    cancel_exchange();
    fail(reason);
  }

  void cancel_exchange() {
    if (auto ex = std::move(exchange_)) ex->cancel();
    release_member(MemberOutcome::Cancelled);
  }

  void fail(const ApiError& err) {
    if (response_ended_) return;
    if (err.status >= 500 && err.status != 503)
      spdlog::warn("model '{}': {}", model_.id, err.message);
    fail_with(err.to_response());
  }

  // An error response, or in-band once the stream has begun (as OpenAI streams report it).
  void fail_with(HttpResponse r) {
    if (response_ended_) return;
    status_ = r.status;
    if (stream_started_) {
      json body = json::parse(r.body, nullptr, /*allow_exceptions=*/false);
      if (body.is_discarded()) body = json::parse(ApiError::internal(r.body).to_json());
      sink_->stream_data(sse_event(body) + std::string(sse_done()));
      sink_->end_stream();
    } else {
      sink_->send_response(std::move(r));
    }
    end_response();
  }

  void end_response() {
    response_ended_ = true;
    sink_.reset();  // the session no longer needs us, nor we it
    maybe_done();
  }

  void maybe_done() {
    if (done_reported_ || !response_ended_ || exchange_ || pending_work_ > 0) return;
    done_reported_ = true;
    report_job_done({model_.id, status_, usage_.prompt_tokens, usage_.completion_tokens}, arrival_,
                    first_event_at_, env_.metrics, on_done_);
  }

  // Nothing an upstream sends may take the process down: a bug in a handler fails this request.
  template <class F>
  void guarded(F&& f) {
    try {
      f();
    } catch (const std::exception& e) {
      cancel_exchange();
      fail(ApiError::internal(std::string("internal error: ") + e.what()));
    }
  }

  UpstreamChatRequest req_;
  std::variant<UpstreamToolPlan, ApiError> planned_;
  UpstreamToolPlan plan_;
  std::shared_ptr<const ModelCatalog> catalog_;  // keeps model_ alive
  const ServedModel& model_;
  std::shared_ptr<const UpstreamTarget> target_;  // the member of the current round
  std::shared_ptr<UpstreamPool> pool_;
  std::optional<size_t> member_;
  std::vector<size_t> tried_;  // members asked for the current round
  std::string round_body_;     // the current round's request, kept for a retry
  std::chrono::steady_clock::time_point round_started_;
  JobEnvironment env_;
  std::shared_ptr<ResponseSink> sink_;
  std::function<void(const JobSummary&)> on_done_;
  Clock::time_point arrival_;
  boost::asio::any_io_executor executor_;
  std::string id_;
  int64_t created_;
  ChunkBuilder chunks_;

  std::shared_ptr<UpstreamExchange> exchange_;  // set while a round is asked
  int upstream_status_ = 0;
  std::string buffered_;  // the current round's answer
  int round_ = 0;         // upstream rounds asked
  int tool_rounds_ = 0;   // rounds whose server calls ran
  int pending_work_ = 0;  // tool runs not yet back from the worker

  ojson messages_;  // the conversation, growing by each tool round
  std::string round_content_;
  std::vector<ToolCall> held_client_calls_;  // a mixed round's client calls, while tools run
  std::string content_;                      // all rounds' content, as the client sees it
  json logprobs_ = json::array();
  std::vector<ToolCall> client_calls_;
  std::vector<ToolRun> tool_runs_;
  Usage usage_;

  int status_ = 0;  // what the client got
  bool stream_started_ = false;
  bool response_ended_ = false;
  bool abandoned_ = false;
  bool done_reported_ = false;
  std::optional<Clock::time_point> first_event_at_;
};

}  // namespace

std::shared_ptr<ChatCompletionJob> make_upstream_tool_loop_job(
    UpstreamChatRequest request, std::variant<UpstreamToolPlan, ApiError> plan,
    std::shared_ptr<const ModelCatalog> catalog, const ServedModel* model, JobEnvironment env,
    std::shared_ptr<ResponseSink> sink, std::function<void(const JobSummary&)> on_done,
    Clock::time_point arrival, boost::asio::any_io_executor executor) {
  return std::make_shared<UpstreamToolLoopJob>(
      std::move(request), std::move(plan), std::move(catalog), model, std::move(env),
      std::move(sink), std::move(on_done), arrival, std::move(executor));
}

}  // namespace toolgate::gateway
