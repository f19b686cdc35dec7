#include "gateway/chat_completion_job.h"

#include <spdlog/spdlog.h>

#include <map>
#include <optional>
#include <vector>

#include "engine/engine.h"
#include "engine/tokenizer.h"
#include "gateway/api_error.h"
#include "gateway/chat_response.h"
#include "gateway/generation_plan.h"
#include "gateway/metrics.h"
#include "gateway/model_catalog.h"
#include "gateway/prompt_renderer.h"
#include "gateway/server_tool_runner.h"
#include "gateway/server_toolbox.h"
#include "gateway/sse.h"
#include "gateway/tool_call_syntax.h"

namespace toolgate::gateway {
namespace {

using nlohmann::json;
using ojson = nlohmann::ordered_json;  // conversations for the template keep key order
using Clock = std::chrono::steady_clock;

double ms_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

// A tool call being assembled from parser fragments within one generation round.
struct PendingCall {
  enum class Kind { Undecided, Client, Server, Dropped };
  Kind kind = Kind::Undecided;
  std::string id;
  std::string name;
  std::string arguments;
  int client_index = -1;  // index in the client-visible tool_calls array
};

struct ChoiceState {
  int index = 0;
  std::optional<engine::Engine::SequenceId> seq;  // set while a sequence runs
  int generation = 0;                             // round counter, guards stale events
  std::unique_ptr<ToolCallStreamParser> parser;
  ojson conversation;  // copied from the request on the first server-tool round
  int rounds = 0;      // server-tool rounds done

  std::string content;        // all client-visible content
  std::string round_content;  // content of the current round (goes into the tool loop)
  std::map<int, PendingCall> round_calls;
  std::vector<ToolCall> client_calls;
  std::vector<ToolRun> tool_runs;
  std::vector<TokenLogprobEntry> logprobs;
  size_t logprobs_streamed = 0;

  int first_prompt_tokens = 0;
  int extra_prompt_tokens = 0;
  int cached_tokens = 0;
  int completion_tokens = 0;
  std::optional<Clock::time_point> last_token_at;
  bool done = false;
  std::string finish_reason;
};

class Job final : public ChatCompletionJob, public std::enable_shared_from_this<Job> {
 public:
  Job(ChatCompletionRequest request, std::shared_ptr<const ModelCatalog> catalog,
      const ServedModel* model, JobEnvironment env, std::shared_ptr<ResponseSink> sink,
      std::function<void(const JobSummary&)> on_done, Clock::time_point arrival)
      : req_(std::move(request)),
        catalog_(std::move(catalog)),
        model_(*model),
        env_(std::move(env)),
        sink_(std::move(sink)),
        on_done_(std::move(on_done)),
        arrival_(arrival),
        id_(make_completion_id()),
        created_(std::chrono::duration_cast<std::chrono::seconds>(
                     std::chrono::system_clock::now().time_since_epoch())
                     .count()),
        chunks_(id_, created_, model_.id, req_.include_usage) {}

  void start() override {
    try {
      auto planned =
          plan_generation(req_, model_, env_.toolbox,
                          PlanLimits{env_.max_tokens_per_request, env_.max_schema_bytes,
                                     env_.max_schema_depth});
      if (auto* err = std::get_if<ApiError>(&planned)) return fail(*err);
      plan_ = std::move(std::get<GenerationPlan>(planned));
      if (!model_.engine || !model_.renderer)
        return fail(ApiError::unavailable("Model '" + model_.id + "' is not loaded.",
                                          env_.retry_after_seconds));
      choices_.resize(static_cast<size_t>(req_.choice_count()));
      for (int i = 0; i < req_.choice_count(); ++i) choices_[static_cast<size_t>(i)].index = i;
      if (!req_.raw_prompts.empty()) return prepare_raw_prompts();
      auto messages = std::make_shared<ojson>(messages_to_template_json(req_.messages));
      prepare_prompt(messages, plan_.tools.forced_prefix,
                     [self = shared_from_this(), messages](std::vector<int32_t> tokens) {
                       self->submit_first_round({std::move(tokens)});
                     });
    } catch (const std::exception& e) {
      fail(ApiError::internal(std::string("internal error: ") + e.what()));
    }
  }

  void abandon() override {
    if (abandoned_) return;
    abandoned_ = true;
    if (!response_ended_ && env_.metrics) env_.metrics->count_client_disconnect();
    status_ = response_ended_ ? status_ : 499;
    response_ended_ = true;
    sink_.reset();
    cancel_running();
    maybe_done();
  }

  void shutdown() override {
    stop(ApiError::unavailable("The server is shutting down.", env_.retry_after_seconds));
  }

  void time_out(std::chrono::milliseconds limit) override {
    stop(ApiError::request_timeout(limit));
  }

  // Ends the response with `reason` once the engine has confirmed the cancellations.
  void stop(ApiError reason) {
    if (stop_reason_ || response_ended_) return;
    stop_reason_ = std::move(reason);
    if (running_ == 0 && pending_work_ == 0) return fail(*stop_reason_);
    cancel_running();
  }

 private:
  // ---- prompt -> tokens (worker) ---------------------------------------------------------

  // Renders and tokenizes on a worker, then calls `next` on the strand with the tokens.
  void prepare_prompt(std::shared_ptr<ojson> messages, std::optional<std::string> forced_prefix,
                      std::function<void(std::vector<int32_t>)> next) {
    ++pending_work_;
    auto self = shared_from_this();
    env_.post_blocking([self, messages, forced_prefix, next = std::move(next)]() mutable {
      std::vector<int32_t> tokens;
      std::optional<ApiError> error;
      try {
        std::string prompt =
            self->model_.renderer->render(*messages, self->plan_.tools.tools_json, true);
        if (forced_prefix) prompt += *forced_prefix;
        // The exact text the model sees: the first thing to read when a model misbehaves.
        spdlog::trace("{}: prompt ({} chars):\n{}", self->id_, prompt.size(), prompt);
        const auto& tok = self->model_.engine->tokenizer();
        tokens = tok.encode(prompt, /*add_special=*/true, /*parse_special=*/true);
        // Templates usually write the BOS text themselves and the tokenizer adds one too.
        if (tokens.size() >= 2 && tok.bos_id() >= 0 && tokens[0] == tok.bos_id() &&
            tokens[1] == tok.bos_id())
          tokens.erase(tokens.begin());
      } catch (const PromptRenderError& e) {
        error = ApiError::invalid_request(e.what(), "messages");
      } catch (const std::exception& e) {
        // The template engine signals conversations it cannot render (roles out of order,
        // unsupported content) with exceptions; they are the client's to fix.
        error = ApiError::invalid_request(
            std::string("The model's chat template could not render these messages: ") + e.what(),
            "messages");
      }
      self->env_.post([self, tokens = std::move(tokens), error = std::move(error),
                       next = std::move(next)]() mutable {
        --self->pending_work_;
        if (self->abandoned_) return self->maybe_done();
        if (self->stop_reason_) return self->fail(*self->stop_reason_);
        if (error) return self->fail(*error);
        try {
          next(std::move(tokens));
        } catch (const std::exception& e) {
          self->fail(ApiError::internal(std::string("internal error: ") + e.what()));
        }
      });
    });
  }

  // The non-chat endpoints: each prompt's tokens come from its builder, on a worker.
  void prepare_raw_prompts() {
    ++pending_work_;
    auto self = shared_from_this();
    env_.post_blocking([self]() mutable {
      std::vector<std::vector<int32_t>> prompts;
      std::optional<ApiError> error;
      try {
        for (const auto& build : self->req_.raw_prompts)
          prompts.push_back(build(self->model_.engine->tokenizer()));
      } catch (const PromptRenderError& e) {
        error = ApiError::invalid_request(e.what(), "prompt");
      } catch (const std::exception& e) {
        error = ApiError::internal(std::string("internal error: ") + e.what());
      }
      self->env_.post([self, prompts = std::move(prompts), error = std::move(error)]() mutable {
        --self->pending_work_;
        if (self->abandoned_) return self->maybe_done();
        if (self->stop_reason_) return self->fail(*self->stop_reason_);
        if (error) return self->fail(*error);
        self->guarded([&] { self->submit_first_round(std::move(prompts)); });
      });
    });
  }

  // ---- submitting ------------------------------------------------------------------------

  engine::GenerationRequest make_generation(ChoiceState& c, std::vector<int32_t> tokens,
                                            int max_tokens) {
    engine::GenerationRequest g;
    g.prompt = std::move(tokens);
    // Each submission gets its own constraint: it follows this generation's text only.
    if (c.rounds == 0 && plan_.constraint) {
      g.logits_processor = plan_.constraint->make(plan_.tools.forced_prefix.value_or(""));
    } else if (c.rounds > 0 && plan_.followup_constraint) {
      g.logits_processor = plan_.followup_constraint->make("");
    }
    g.sampling = plan_.sampling;
    // n > 1 with a seed: give each choice its own stream, reproducibly.
    if (g.sampling.seed && c.index > 0) *g.sampling.seed += static_cast<uint64_t>(c.index);
    g.max_tokens = max_tokens;
    g.ignore_eos = req_.ignore_eos;
    g.adapter = req_.adapter.value_or(model_.adapter);  // resolved by choose_adapter()
    g.stop = plan_.stop;
    auto self = shared_from_this();
    int idx = c.index;
    int gen = ++c.generation;
    g.on_token = [self, idx, gen](engine::TokenEvent&& ev) {
      self->env_.post([self, idx, gen, ev = std::move(ev)]() mutable {
        self->guarded([&] { self->on_token(idx, gen, std::move(ev)); });
      });
    };
    g.on_finish = [self, idx, gen](engine::FinishEvent&& ev) {
      self->env_.post([self, idx, gen, ev = std::move(ev)]() mutable {
        self->guarded([&] { self->on_finish(idx, gen, std::move(ev)); });
      });
    };
    return g;
  }

  // Returns an error instead of throwing so the caller can undo what was submitted.
  std::optional<ApiError> submit(ChoiceState& c, std::vector<int32_t> tokens, int max_tokens) {
    try {
      c.seq = model_.engine->submit(make_generation(c, std::move(tokens), max_tokens));
      ++running_;
      return std::nullopt;
    } catch (const engine::EngineError& e) {
      using K = engine::EngineError::Kind;
      switch (e.kind()) {
        case K::ContextLengthExceeded:
          return ApiError::context_length_exceeded(e.what());
        case K::QueueFull: {
          ApiError err = ApiError::overloaded(env_.retry_after_seconds);
          err.message = std::string("The engine queue is full: ") + e.what();
          return err;
        }
        case K::ShuttingDown:
          return ApiError::unavailable("The server is shutting down.", env_.retry_after_seconds);
        case K::InvalidRequest:
          return ApiError::invalid_request(e.what());
      }
      return ApiError::internal(e.what());
    }
  }

  // One prompt for a chat completion; one per raw prompt otherwise (choice i answers prompt
  // i / n).
  void submit_first_round(std::vector<std::vector<int32_t>> prompts) {
    if (response_ended_) return;
    for (auto& c : choices_) {
      const auto& tokens = prompts[static_cast<size_t>(c.index / req_.n) % prompts.size()];
      if (plan_.tools.parse_tool_calls) {
        c.parser = model_.tool_syntax->make_parser();
        // The forced prefix is already in the prompt; the parser must see it too, so it knows
        // it is inside a tool call. Whatever content it yields for the prefix is not the
        // model's to report.
        if (plan_.tools.forced_prefix) (void)c.parser->feed(*plan_.tools.forced_prefix);
      }
      if (auto err = submit(c, tokens, plan_.max_tokens)) {
        // All n sequences or none: cancel what already went in.
        cancel_running();
        return fail(*err);
      }
    }
    if (req_.stream) {
      HttpResponse head;
      head.status = 200;
      head.headers = {{"Content-Type", "text/event-stream; charset=utf-8"},
                      {"Cache-Control", "no-cache"},
                      {"X-Accel-Buffering", "no"}};
      stream_started_ = true;
      sink_->begin_stream(std::move(head));
      std::string out;
      for (const auto& c : choices_) out += sse_event(chunks_.role_chunk(c.index));
      sink_->stream_data(std::move(out));
    }
  }

  // ---- token events ----------------------------------------------------------------------

  void on_token(int idx, int gen, engine::TokenEvent ev) {
    ChoiceState& c = choices_[static_cast<size_t>(idx)];
    if (abandoned_ || response_ended_ || gen != c.generation || c.done) return;
    auto now = Clock::now();
    if (!first_token_at_) {
      first_token_at_ = now;
      if (env_.metrics) env_.metrics->observe_time_to_first_token(ms_between(arrival_, now) / 1e3);
    }
    if (c.last_token_at && env_.metrics)
      env_.metrics->observe_inter_token_latency(ms_between(*c.last_token_at, now) / 1e3);
    c.last_token_at = now;

    if (req_.logprobs) {
      TokenLogprobEntry e;
      e.token = model_.engine->tokenizer().token_to_piece(ev.id);
      e.logprob = ev.logprob;
      for (auto& t : ev.top) e.top.push_back({std::move(t.text), t.logprob});
      c.logprobs.push_back(std::move(e));
    }
    ParsedText parsed;
    if (c.parser) {
      parsed = c.parser->feed(ev.text);
    } else {
      parsed.content = std::move(ev.text);
    }
    absorb(c, std::move(parsed));
  }

  // Takes parser output into the choice and streams what the client may see.
  void absorb(ChoiceState& c, ParsedText parsed) {
    std::string out;
    bool pending_logprobs = c.logprobs.size() > c.logprobs_streamed;
    if (!parsed.content.empty() || (pending_logprobs && parsed.tool_calls.empty())) {
      c.content += parsed.content;
      c.round_content += parsed.content;
      if (req_.stream) {
        std::vector<TokenLogprobEntry> lp;
        if (req_.logprobs) {
          lp.assign(c.logprobs.begin() + static_cast<std::ptrdiff_t>(c.logprobs_streamed),
                    c.logprobs.end());
          c.logprobs_streamed = c.logprobs.size();
        }
        out += sse_event(
            chunks_.content_chunk(c.index, parsed.content, req_.logprobs ? &lp : nullptr));
      }
    }
    std::vector<ToolCallDeltaOut> deltas;
    for (auto& f : parsed.tool_calls) absorb_fragment(c, std::move(f), deltas);
    if (req_.stream && !deltas.empty()) out += sse_event(chunks_.tool_calls_chunk(c.index, deltas));
    if (!out.empty() && sink_) sink_->stream_data(std::move(out));
  }

  void absorb_fragment(ChoiceState& c, ToolCallFragment f, std::vector<ToolCallDeltaOut>& deltas) {
    PendingCall& call = c.round_calls[f.index];
    if (call.id.empty()) call.id = make_tool_call_id();
    bool first = false;
    if (call.kind == PendingCall::Kind::Undecided && !f.name.empty()) {
      call.name = f.name;
      first = true;
      if (plan_.tools.server_tools.count(call.name)) {
        call.kind = PendingCall::Kind::Server;
      } else if (!plan_.tools.parallel_tool_calls && client_calls_seen(c) > 0) {
        call.kind = PendingCall::Kind::Dropped;  // parallel_tool_calls:false keeps the first
      } else {
        call.client_index = client_calls_seen(c);
        call.kind = PendingCall::Kind::Client;
      }
    }
    call.arguments += f.arguments;
    if (call.kind != PendingCall::Kind::Client || !req_.stream) return;
    ToolCallDeltaOut d;
    d.index = call.client_index;
    if (first) {
      d.id = call.id;
      d.name = call.name;
      d.arguments = call.arguments;  // includes anything that came before the name
    } else {
      d.arguments = std::move(f.arguments);
      if (d.arguments.empty()) return;
    }
    // Fragments of one call from the same parser output travel as one delta.
    if (!deltas.empty() && deltas.back().index == d.index && !d.id) {
      deltas.back().arguments += d.arguments;
      return;
    }
    deltas.push_back(std::move(d));
  }

  int client_calls_seen(const ChoiceState& c) const {
    int n = static_cast<int>(c.client_calls.size());
    for (const auto& [_, call] : c.round_calls) n += call.kind == PendingCall::Kind::Client;
    return n;
  }

  // ---- end of a generation round ---------------------------------------------------------

  void on_finish(int idx, int gen, engine::FinishEvent ev) {
    ChoiceState& c = choices_[static_cast<size_t>(idx)];
    if (gen != c.generation) return;
    if (c.seq) {
      c.seq.reset();
      --running_;
    }
    if (abandoned_ || response_ended_) return maybe_done();

    if (c.rounds == 0) {
      c.first_prompt_tokens = ev.prompt_tokens;
      c.cached_tokens = ev.cached_prompt_tokens;
    } else {
      c.extra_prompt_tokens += ev.prompt_tokens;
    }
    c.completion_tokens += ev.completion_tokens;

    if (ev.reason == engine::FinishReason::Cancelled || stop_reason_) {
      cancel_running();
      return fail(stop_reason_ ? *stop_reason_
                               : ApiError::unavailable("The engine cancelled the generation.",
                                                       env_.retry_after_seconds));
    }
    if (ev.reason == engine::FinishReason::Error) {
      cancel_running();
      return fail(ApiError::internal("Generation failed: " + ev.message));
    }
    if (c.parser) absorb(c, c.parser->finish());
    if (req_.stream && c.logprobs.size() > c.logprobs_streamed) absorb(c, ParsedText{});

    std::vector<PendingCall> server_calls;
    bool has_client_calls = false;
    for (auto& [_, call] : c.round_calls) {
      if (call.kind == PendingCall::Kind::Server) server_calls.push_back(call);
      if (call.kind == PendingCall::Kind::Client) has_client_calls = true;
    }
    bool length = ev.reason == engine::FinishReason::Length;
    if (!server_calls.empty() && c.rounds < env_.max_tool_rounds && !length) {
      return run_server_tools(c, std::move(server_calls), /*then_continue=*/!has_client_calls);
    }
    // Out of tool rounds: calls to server tools go back to the client like any other.
    for (auto& call : server_calls) {
      for (auto& [_, rc] : c.round_calls) {
        if (rc.id == call.id) {
          rc.client_index = client_calls_seen(c);
          rc.kind = PendingCall::Kind::Client;
          if (req_.stream && sink_) {
            ToolCallDeltaOut d{rc.client_index, rc.id, rc.name, rc.arguments};
            sink_->stream_data(sse_event(chunks_.tool_calls_chunk(c.index, {d})));
          }
        }
      }
    }
    collect_client_calls(c);
    finish_choice(c, !c.client_calls.empty() ? "tool_calls" : length ? "length" : "stop");
  }

  void collect_client_calls(ChoiceState& c) {
    for (auto& [_, call] : c.round_calls) {
      if (call.kind == PendingCall::Kind::Client)
        c.client_calls.push_back({call.id, call.name, call.arguments});
    }
    c.round_calls.clear();
  }

  // ---- the server-tool loop --------------------------------------------------------------

  void run_server_tools(ChoiceState& c, std::vector<PendingCall> calls, bool then_continue) {
    ++pending_work_;
    ++c.rounds;
    auto self = shared_from_this();
    int idx = c.index;
    int round = c.rounds;
    std::vector<ToolCall> to_run;
    for (auto& call : calls) to_run.push_back({call.id, call.name, call.arguments});
    env_.post_blocking([self, idx, round, to_run = std::move(to_run), then_continue]() mutable {
      auto runs = run_server_tool_calls(*self->env_.toolbox, to_run, round, self->env_.tool_timeout,
                                        self->id_);
      self->env_.post([self, idx, runs = std::move(runs), then_continue]() mutable {
        self->guarded([&] { self->on_tools_done(idx, std::move(runs), then_continue); });
      });
    });
  }

  void on_tools_done(int idx, std::vector<ToolRun> runs, bool then_continue) {
    --pending_work_;
    ChoiceState& c = choices_[static_cast<size_t>(idx)];
    if (abandoned_ || response_ended_) return maybe_done();
    if (stop_reason_) return fail(*stop_reason_);
    if (env_.metrics)
      for (const auto& r : runs) env_.metrics->count_tool_run(r.ok);
    if (req_.stream && sink_) sink_->stream_data(sse_event(chunks_.tool_runs_chunk(c.index, runs)));

    // The conversation continues with the assistant's calls and the tools' answers.
    if (c.conversation.is_null()) c.conversation = messages_to_template_json(req_.messages);
    ojson calls = ojson::array();
    for (const auto& r : runs) {
      ojson args = ojson::parse(r.arguments, nullptr, false);
      if (args.is_discarded()) args = r.arguments;
      calls.push_back({{"id", r.id},
                       {"type", "function"},
                       {"function", {{"name", r.name}, {"arguments", args}}}});
    }
    c.conversation.push_back(
        {{"role", "assistant"},
         {"content", c.round_content.empty() ? ojson(nullptr) : ojson(c.round_content)},
         {"tool_calls", std::move(calls)}});
    for (const auto& r : runs)
      c.conversation.push_back(
          {{"role", "tool"}, {"tool_call_id", r.id}, {"name", r.name}, {"content", r.output}});
    for (auto& r : runs) c.tool_runs.push_back(std::move(r));

    if (!then_continue) {
      // Client calls in the same round: they go back to the client, the loop stops here.
      collect_client_calls(c);
      return finish_choice(c, "tool_calls");
    }
    c.round_calls.clear();
    c.round_content.clear();
    int remaining = plan_.max_tokens - c.completion_tokens;
    if (remaining <= 0) return finish_choice(c, "length");
    if (c.parser) c.parser = model_.tool_syntax->make_parser();
    auto messages = std::make_shared<ojson>(c.conversation);
    auto self = shared_from_this();
    prepare_prompt(messages, std::nullopt, [self, idx, remaining](std::vector<int32_t> tokens) {
      ChoiceState& ch = self->choices_[static_cast<size_t>(idx)];
      if (auto err = self->submit(ch, std::move(tokens), remaining)) {
        self->cancel_running();
        self->fail(*err);
      }
    });
  }

  // ---- endings ---------------------------------------------------------------------------

  void finish_choice(ChoiceState& c, const std::string& reason) {
    c.done = true;
    c.finish_reason = reason;
    if (req_.stream && sink_) sink_->stream_data(sse_event(chunks_.finish_chunk(c.index, reason)));
    for (const auto& other : choices_) {
      if (!other.done) return;
    }
    complete();
  }

  Usage usage() const {
    Usage u;
    // The n choices of a prompt share it; it is counted once, as OpenAI does.
    for (size_t i = 0; i < choices_.size(); i += static_cast<size_t>(req_.n)) {
      u.prompt_tokens += choices_[i].first_prompt_tokens;
      u.cached_tokens += choices_[i].cached_tokens;
    }
    for (const auto& c : choices_) {
      u.prompt_tokens += c.extra_prompt_tokens;
      u.completion_tokens += c.completion_tokens;
    }
    return u;
  }

  void complete() {
    if (response_ended_) return;
    Usage u = usage();
    if (req_.stream) {
      std::string out;
      if (req_.include_usage) out += sse_event(chunks_.usage_chunk(u));
      out += sse_done();
      sink_->stream_data(std::move(out));
      sink_->end_stream();
    } else {
      std::vector<ChoiceResult> results;
      for (auto& c : choices_) {
        ChoiceResult r;
        r.index = c.index;
        r.content = std::move(c.content);
        r.tool_calls = std::move(c.client_calls);
        r.tool_runs = std::move(c.tool_runs);
        if (req_.logprobs) r.logprobs = std::move(c.logprobs);
        r.finish_reason = c.finish_reason;
        results.push_back(std::move(r));
      }
      sink_->send_response(
          json_response(200, dump_json(completion_json(id_, created_, model_.id, results, u))));
    }
    status_ = 200;
    end_response();
  }

  void fail(const ApiError& err) {
    if (response_ended_) return;
    if (err.status >= 500 && err.status != 503) spdlog::error("{}: {}", id_, err.message);
    if (stream_started_) {
      // Headers are gone already: report in-band the way OpenAI streams do, then end cleanly.
      sink_->stream_data(sse_event(json::parse(err.to_json())) + std::string(sse_done()));
      sink_->end_stream();
    } else {
      sink_->send_response(err.to_response());
    }
    status_ = stream_started_ ? 200 : err.status;
    end_response();
  }

  void end_response() {
    response_ended_ = true;
    sink_.reset();  // the session no longer needs us, nor we it
    maybe_done();
  }

  void cancel_running() {
    for (auto& c : choices_) {
      if (c.seq) model_.engine->cancel(*c.seq);
    }
  }

  void maybe_done() {
    if (done_reported_ || !response_ended_ || running_ > 0 || pending_work_ > 0) return;
    done_reported_ = true;
    const Usage u = usage();
    report_job_done({model_.id, status_, u.prompt_tokens, u.completion_tokens}, arrival_,
                    first_token_at_, env_.metrics, on_done_);
  }

  // Nothing a client sends may take the process down: a bug in a handler fails this request.
  template <class F>
  void guarded(F&& f) {
    try {
      f();
    } catch (const std::exception& e) {
      cancel_running();
      fail(ApiError::internal(std::string("internal error: ") + e.what()));
    }
  }

  ChatCompletionRequest req_;
  std::shared_ptr<const ModelCatalog> catalog_;  // keeps model_ alive
  const ServedModel& model_;
  JobEnvironment env_;
  std::shared_ptr<ResponseSink> sink_;
  std::function<void(const JobSummary&)> on_done_;
  Clock::time_point arrival_;
  std::string id_;
  int64_t created_;
  ChunkBuilder chunks_;
  GenerationPlan plan_;
  std::vector<ChoiceState> choices_;

  int running_ = 0;       // engine sequences not yet finished
  int pending_work_ = 0;  // worker tasks not yet back
  bool stream_started_ = false;
  bool response_ended_ = false;
  bool abandoned_ = false;
  std::optional<ApiError> stop_reason_;  // shutdown or timeout: end with this once cancelled
  bool done_reported_ = false;
  int status_ = 200;
  std::optional<Clock::time_point> first_token_at_;
};

}  // namespace

std::shared_ptr<ChatCompletionJob> ChatCompletionJob::create(
    ChatCompletionRequest request, std::shared_ptr<const ModelCatalog> catalog,
    const ServedModel* model, JobEnvironment env, std::shared_ptr<ResponseSink> sink,
    std::function<void(const JobSummary&)> on_done, Clock::time_point arrival) {
  return std::make_shared<Job>(std::move(request), std::move(catalog), model, std::move(env),
                               std::move(sink), std::move(on_done), arrival);
}

void report_job_done(JobSummary s, Clock::time_point arrival,
                     std::optional<Clock::time_point> first_output, Metrics* metrics,
                     std::function<void(const JobSummary&)>& on_done) {
  const auto now = Clock::now();
  if (first_output) s.ttft_ms = ms_between(arrival, *first_output);
  s.total_ms = ms_between(arrival, now);
  if (metrics && s.status == 200) metrics->observe_e2e_latency(s.total_ms / 1e3);
  if (on_done) {
    auto f = std::move(on_done);
    on_done = nullptr;
    f(s);
  }
}

}  // namespace toolgate::gateway
