// The chat completion pipeline without sockets: a scripted engine, a serial executor standing in
// for the session's strand, and a sink that records what would go on the wire.
#include <gtest/gtest.h>

#include <future>
#include <sstream>

#include "fakes.h"
#include "recording_sink.h"
#include "gateway/chat_completion_job.h"
#include "gateway/engine_adapters.h"
#include "gateway/metrics.h"
#include "gateway/model_catalog.h"

namespace toolgate::gateway {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

class SerialExecutor {
 public:
  SerialExecutor() : thread_([this] { loop(); }) {}
  ~SerialExecutor() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  // Notifies under the lock: the engine thread posts a job's last step, which wakes the test,
  // which destroys this executor; notifying after unlocking would touch cv_ after that (a race
  // ThreadSanitizer reported on pthread_cond_destroy).
  void post(std::function<void()> f) {
    std::lock_guard lock(mu_);
    q_.push_back(std::move(f));
    cv_.notify_all();
  }

 private:
  void loop() {
    std::unique_lock lock(mu_);
    while (true) {
      cv_.wait(lock, [&] { return stop_ || !q_.empty(); });
      if (q_.empty()) return;
      auto f = std::move(q_.front());
      q_.pop_front();
      lock.unlock();
      f();
      lock.lock();
    }
  }
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> q_;
  bool stop_ = false;
  std::thread thread_;
};

using testing::RecordingSink;

struct JobFixture : ::testing::Test {
  Metrics metrics;
  testing::FakeToolbox toolbox;
  std::unique_ptr<testing::FakeEngine> engine;
  std::shared_ptr<ModelCatalog> catalog;
  std::promise<JobSummary> done;
  // Declared last so they are destroyed (their threads joined) first: a job's last callback may
  // still be running on them (set_value wakes the test before it returns) and it uses the
  // members above.
  SerialExecutor strand;
  SerialExecutor worker;

  void make_engine(std::function<std::vector<std::string>(const std::string&)> script,
                   std::vector<std::string> server_tools = {}) {
    testing::FakeEngine::Options o;
    o.script = std::move(script);
    engine = std::make_unique<testing::FakeEngine>(o);
    ServedModel m;
    m.id = "fake";
    m.engine = engine.get();
    m.renderer = std::make_shared<testing::ChatMlRenderer>();
    m.tool_syntax = std::make_shared<testing::HermesSyntax>();
    m.server_tools = std::move(server_tools);
    catalog = std::make_shared<ModelCatalog>(std::vector<ServedModel>{m});
  }

  std::shared_ptr<ChatCompletionJob> run(json body, std::shared_ptr<RecordingSink> sink) {
    body["model"] = "fake";
    if (!body.contains("messages"))
      body["messages"] = json::array({{{"role", "user"}, {"content", "hi"}}});
    auto parsed = parse_chat_completion_request(body);
    EXPECT_TRUE(parsed.request) << parsed.errors[0].message;
    JobEnvironment env;
    env.post = [this](std::function<void()> f) { strand.post(std::move(f)); };
    env.post_blocking = [this](std::function<void()> f) { worker.post(std::move(f)); };
    env.toolbox = &toolbox;
    env.metrics = &metrics;
    env.max_tool_rounds = 2;
    auto job = ChatCompletionJob::create(
        std::move(*parsed.request), catalog, &catalog->models()[0], env, sink,
        [this](const JobSummary& s) { done.set_value(s); }, std::chrono::steady_clock::now());
    strand.post([job] { job->start(); });
    return job;
  }

  JobSummary summary() {
    auto f = done.get_future();
    EXPECT_EQ(f.wait_for(5s), std::future_status::ready);
    return f.get();
  }

  static std::vector<std::string> split(const std::string& s, size_t n = 1) {
    std::vector<std::string> out;
    for (size_t i = 0; i < s.size(); i += n) out.push_back(s.substr(i, n));
    return out;
  }
};

TEST_F(JobFixture, NonStreamingReturnsChatCompletion) {
  make_engine([](const std::string&) { return split("Hello there"); });
  auto sink = std::make_shared<RecordingSink>();
  run({}, sink);
  ASSERT_TRUE(sink->wait_end());
  ASSERT_TRUE(sink->response);
  EXPECT_EQ(sink->response->status, 200);
  json j = json::parse(sink->response->body);
  EXPECT_EQ(j["object"], "chat.completion");
  EXPECT_EQ(j["choices"][0]["message"]["content"], "Hello there");
  EXPECT_EQ(j["choices"][0]["finish_reason"], "stop");
  EXPECT_EQ(j["usage"]["completion_tokens"], 11);
  EXPECT_GT(j["usage"]["prompt_tokens"].get<int>(), 0);
  auto s = summary();
  EXPECT_EQ(s.status, 200);
  EXPECT_EQ(s.completion_tokens, 11);
  EXPECT_GE(s.ttft_ms, 0);
  // The prompt went through the template with a generation prompt, BOS not doubled.
  EXPECT_NE(engine->prompts()[0].find("<|im_start|>assistant\n"), std::string::npos);
}

TEST_F(JobFixture, StreamingFramesRoleContentFinishUsageDone) {
  make_engine([](const std::string&) { return std::vector<std::string>{"Hel", "lo"}; });
  auto sink = std::make_shared<RecordingSink>();
  run({{"stream", true}, {"stream_options", {{"include_usage", true}}}}, sink);
  ASSERT_TRUE(sink->wait_end());
  ASSERT_TRUE(sink->stream_head);
  EXPECT_EQ(find_header(sink->stream_head->headers, "Content-Type").substr(0, 17),
            "text/event-stream");
  EXPECT_EQ(find_header(sink->stream_head->headers, "Cache-Control"), "no-cache");
  auto ev = sink->events();
  ASSERT_EQ(ev.size(), 6u);
  EXPECT_EQ(ev[0]["choices"][0]["delta"]["role"], "assistant");
  EXPECT_EQ(ev[0]["choices"][0]["delta"]["content"], "");
  EXPECT_EQ(ev[1]["choices"][0]["delta"]["content"], "Hel");
  EXPECT_EQ(ev[2]["choices"][0]["delta"]["content"], "lo");
  EXPECT_EQ(ev[3]["choices"][0]["finish_reason"], "stop");
  EXPECT_TRUE(ev[3]["choices"][0]["delta"].empty());
  EXPECT_TRUE(ev[4]["choices"].empty());
  EXPECT_EQ(ev[4]["usage"]["completion_tokens"], 2);
  EXPECT_EQ(ev[5], "[DONE]");
  for (size_t i = 0; i < 5; ++i) EXPECT_EQ(ev[i]["id"], ev[0]["id"]);
}

TEST_F(JobFixture, MaxTokensEndsWithFinishReasonLength) {
  make_engine([](const std::string&) { return split("abcdefgh"); });
  auto sink = std::make_shared<RecordingSink>();
  run({{"max_tokens", 3}}, sink);
  ASSERT_TRUE(sink->wait_end());
  json j = json::parse(sink->response->body);
  EXPECT_EQ(j["choices"][0]["message"]["content"], "abc");
  EXPECT_EQ(j["choices"][0]["finish_reason"], "length");
  EXPECT_EQ(engine->submitted()[0].max_tokens, 3);
}

TEST_F(JobFixture, SamplingParametersReachTheEngine) {
  make_engine([](const std::string&) { return split("x"); });
  auto sink = std::make_shared<RecordingSink>();
  run({{"temperature", 0},
       {"top_p", 0.5},
       {"top_k", 7},
       {"seed", 9},
       {"stop", "END"},
       {"logit_bias", {{"65", -100}}},
       {"presence_penalty", 0.5}},
      sink);
  ASSERT_TRUE(sink->wait_end());
  auto g = engine->submitted()[0];
  EXPECT_EQ(g.sampling.temperature, 0.0f);
  EXPECT_EQ(g.sampling.top_p, 0.5f);
  EXPECT_EQ(g.sampling.top_k, 7);
  EXPECT_EQ(*g.sampling.seed, 9u);
  EXPECT_EQ(g.stop, std::vector<std::string>{"END"});
  ASSERT_EQ(g.sampling.logit_bias.size(), 1u);
  EXPECT_EQ(g.sampling.logit_bias[0].first, 65);
  EXPECT_EQ(g.sampling.presence_penalty, 0.5f);
}

TEST_F(JobFixture, NGivesIndexedChoices) {
  make_engine([](const std::string&) { return split("ok"); });
  auto sink = std::make_shared<RecordingSink>();
  run({{"n", 3}}, sink);
  ASSERT_TRUE(sink->wait_end());
  json j = json::parse(sink->response->body);
  ASSERT_EQ(j["choices"].size(), 3u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(j["choices"][i]["index"], i);
    EXPECT_EQ(j["choices"][i]["message"]["content"], "ok");
  }
  EXPECT_EQ(j["usage"]["completion_tokens"], 6);
  EXPECT_EQ(engine->submitted().size(), 3u);
}

TEST_F(JobFixture, ToolCallMarkupBecomesToolCalls) {
  make_engine([](const std::string&) {
    return split(
        "Sure.<tool_call>{\"name\": \"get_weather\", \"arguments\": {\"city\": "
        "\"Paris\"}}</tool_call>",
        5);
  });
  auto sink = std::make_shared<RecordingSink>();
  json tools = json::array(
      {{{"type", "function"},
        {"function", {{"name", "get_weather"}, {"parameters", {{"type", "object"}}}}}}});
  run({{"tools", tools}}, sink);
  ASSERT_TRUE(sink->wait_end());
  json j = json::parse(sink->response->body);
  const json& msg = j["choices"][0]["message"];
  EXPECT_EQ(msg["content"], "Sure.");
  ASSERT_EQ(msg["tool_calls"].size(), 1u);
  EXPECT_EQ(msg["tool_calls"][0]["function"]["name"], "get_weather");
  EXPECT_EQ(json::parse(msg["tool_calls"][0]["function"]["arguments"].get<std::string>())["city"],
            "Paris");
  EXPECT_EQ(msg["tool_calls"][0]["id"].get<std::string>().rfind("call_", 0), 0u);
  EXPECT_EQ(j["choices"][0]["finish_reason"], "tool_calls");
  // The tools were rendered into the prompt.
  EXPECT_NE(engine->prompts()[0].find("get_weather"), std::string::npos);
}

TEST_F(JobFixture, StreamedToolCallDeltasCarryIdAndNameFirst) {
  make_engine([](const std::string&) {
    return split("<tool_call>{\"name\": \"f\", \"arguments\": {\"a\": 1}}</tool_call>", 4);
  });
  auto sink = std::make_shared<RecordingSink>();
  json tools =
      json::array({{{"type", "function"}, {"function", {{"name", "f"}, {"description", "d"}}}}});
  run({{"tools", tools}, {"stream", true}}, sink);
  ASSERT_TRUE(sink->wait_end());
  auto ev = sink->events();
  std::string args;
  int with_name = 0;
  std::string finish;
  for (const auto& e : ev) {
    if (e == "[DONE]") continue;
    const json& d = e["choices"][0]["delta"];
    if (d.contains("content")) {
      EXPECT_EQ(d["content"], "");  // no markup leaks into content
    }
    if (d.contains("tool_calls")) {
      const json& tc = d["tool_calls"][0];
      EXPECT_EQ(tc["index"], 0);
      if (tc.contains("id")) {
        ++with_name;
        EXPECT_EQ(tc["function"]["name"], "f");
        EXPECT_EQ(tc["type"], "function");
      }
      args += tc["function"]["arguments"].get<std::string>();
    }
    if (!e["choices"][0]["finish_reason"].is_null()) finish = e["choices"][0]["finish_reason"];
  }
  EXPECT_EQ(with_name, 1);
  EXPECT_EQ(json::parse(args)["a"], 1);
  EXPECT_EQ(finish, "tool_calls");
}

TEST_F(JobFixture, ParallelToolCallsFalseKeepsOnlyTheFirst) {
  make_engine([](const std::string&) {
    return std::vector<std::string>{"<tool_call>{\"name\": \"f\", \"arguments\": {}}</tool_call>",
                                    "<tool_call>{\"name\": \"g\", \"arguments\": {}}</tool_call>"};
  });
  auto sink = std::make_shared<RecordingSink>();
  json tools =
      json::array({{{"type", "function"}, {"function", {{"name", "f"}, {"description", "d"}}}},
                   {{"type", "function"}, {"function", {{"name", "g"}, {"description", "d"}}}}});
  run({{"tools", tools}, {"parallel_tool_calls", false}}, sink);
  ASSERT_TRUE(sink->wait_end());
  json j = json::parse(sink->response->body);
  ASSERT_EQ(j["choices"][0]["message"]["tool_calls"].size(), 1u);
  EXPECT_EQ(j["choices"][0]["message"]["tool_calls"][0]["function"]["name"], "f");
}

TEST_F(JobFixture, ToolChoiceNoneLeavesToolsOutAndTextAlone) {
  make_engine([](const std::string&) { return std::vector<std::string>{"<tool_call>x"}; });
  auto sink = std::make_shared<RecordingSink>();
  json tools =
      json::array({{{"type", "function"}, {"function", {{"name", "f"}, {"description", "d"}}}}});
  run({{"tools", tools}, {"tool_choice", "none"}}, sink);
  ASSERT_TRUE(sink->wait_end());
  EXPECT_EQ(engine->prompts()[0].find("Tools:"), std::string::npos);
  json j = json::parse(sink->response->body);
  EXPECT_EQ(j["choices"][0]["message"]["content"], "<tool_call>x");
}

TEST_F(JobFixture, NamedToolChoiceForcesThePrefixAndPrimesTheParser) {
  make_engine(
      [](const std::string&) { return std::vector<std::string>{"{\"a\": 2}}", "</tool_call>"}; });
  auto sink = std::make_shared<RecordingSink>();
  json tools =
      json::array({{{"type", "function"}, {"function", {{"name", "f"}, {"description", "d"}}}}});
  run({{"tools", tools}, {"tool_choice", {{"type", "function"}, {"function", {{"name", "f"}}}}}},
      sink);
  ASSERT_TRUE(sink->wait_end());
  std::string prompt = engine->prompts()[0];
  EXPECT_NE(prompt.find("<tool_call>{\"name\": \"f\", \"arguments\": "), std::string::npos);
  json j = json::parse(sink->response->body);
  ASSERT_EQ(j["choices"][0]["message"]["tool_calls"].size(), 1u);
  EXPECT_EQ(j["choices"][0]["message"]["tool_calls"][0]["function"]["name"], "f");
}

TEST_F(JobFixture, ServerToolLoopRunsToolAndContinues) {
  make_engine(
      [](const std::string& prompt) {
        // Second round: the tool result is in the prompt.
        if (prompt.find("<|im_start|>tool\n5") != std::string::npos)
          return split("The sum is 5.", 4);
        return std::vector<std::string>{
            "<tool_call>{\"name\": \"add\", \"arguments\": {\"a\": 2, \"b\": 3}}</tool_call>"};
      },
      {"add"});
  auto sink = std::make_shared<RecordingSink>();
  run({}, sink);
  ASSERT_TRUE(sink->wait_end());
  json j = json::parse(sink->response->body);
  const json& msg = j["choices"][0]["message"];
  EXPECT_EQ(msg["content"], "The sum is 5.");
  EXPECT_FALSE(msg.contains("tool_calls"));
  ASSERT_EQ(msg["toolgate_tool_runs"].size(), 1u);
  EXPECT_EQ(msg["toolgate_tool_runs"][0]["function"]["name"], "add");
  EXPECT_EQ(msg["toolgate_tool_runs"][0]["output"], "5");
  EXPECT_EQ(msg["toolgate_tool_runs"][0]["ok"], true);
  EXPECT_EQ(j["choices"][0]["finish_reason"], "stop");
  EXPECT_EQ(toolbox.calls.load(), 1);
  EXPECT_EQ(engine->submitted().size(), 2u);
  // Usage covers both rounds.
  EXPECT_GT(j["usage"]["prompt_tokens"].get<int>(),
            static_cast<int>(engine->submitted()[1].prompt.size()));
}

TEST_F(JobFixture, NameOnlyRequestToolIsRunByTheServerAndStreamedAsToolRuns) {
  make_engine([](const std::string& prompt) {
    if (prompt.find("<|im_start|>tool\n") != std::string::npos) return split("done", 2);
    return std::vector<std::string>{
        "<tool_call>{\"name\": \"add\", \"arguments\": {\"a\": 1, \"b\": 1}}</tool_call>"};
  });
  auto sink = std::make_shared<RecordingSink>();
  run({{"tools", json::array({{{"type", "function"}, {"function", {{"name", "add"}}}}})},
       {"stream", true}},
      sink);
  ASSERT_TRUE(sink->wait_end());
  bool saw_runs = false, saw_tool_call_delta = false;
  std::string content;
  for (const auto& e : sink->events()) {
    if (e == "[DONE]") continue;
    const json& d = e["choices"][0]["delta"];
    if (d.contains("toolgate_tool_runs")) saw_runs = true;
    if (d.contains("tool_calls")) saw_tool_call_delta = true;
    if (d.contains("content")) content += d["content"].get<std::string>();
  }
  EXPECT_TRUE(saw_runs);
  EXPECT_FALSE(saw_tool_call_delta);  // server calls are not the client's to run
  EXPECT_EQ(content, "done");
}

TEST_F(JobFixture, ToolLoopStopsAfterMaxRoundsAndReturnsTheCall) {
  make_engine(
      [](const std::string&) {
        return std::vector<std::string>{
            "<tool_call>{\"name\": \"add\", \"arguments\": {\"a\": 1}}</tool_call>"};
      },
      {"add"});
  auto sink = std::make_shared<RecordingSink>();
  run({}, sink);  // max_tool_rounds = 2 in this fixture
  ASSERT_TRUE(sink->wait_end());
  json j = json::parse(sink->response->body);
  EXPECT_EQ(j["choices"][0]["message"]["toolgate_tool_runs"].size(), 2u);
  EXPECT_EQ(j["choices"][0]["message"]["tool_calls"].size(), 1u);
  EXPECT_EQ(j["choices"][0]["finish_reason"], "tool_calls");
  EXPECT_EQ(engine->submitted().size(), 3u);
}

TEST_F(JobFixture, ContextLengthExceededIs400WithCode) {
  testing::FakeEngine::Options o;
  o.context_length = 10;
  engine = std::make_unique<testing::FakeEngine>(o);
  ServedModel m;
  m.id = "fake";
  m.engine = engine.get();
  m.renderer = std::make_shared<testing::ChatMlRenderer>();
  catalog = std::make_shared<ModelCatalog>(std::vector<ServedModel>{m});
  auto sink = std::make_shared<RecordingSink>();
  run({}, sink);
  ASSERT_TRUE(sink->wait_end());
  EXPECT_EQ(sink->response->status, 400);
  json j = json::parse(sink->response->body);
  EXPECT_EQ(j["error"]["code"], "context_length_exceeded");
  EXPECT_NE(j["error"]["message"].get<std::string>().find("10 tokens"), std::string::npos);
}

TEST_F(JobFixture, EngineQueueFullIs429WithRetryAfter) {
  make_engine(nullptr);
  engine->set_refuse(engine::EngineError::Kind::QueueFull);
  auto sink = std::make_shared<RecordingSink>();
  run({{"stream", true}}, sink);
  ASSERT_TRUE(sink->wait_end());
  ASSERT_TRUE(sink->response);  // an error before the stream began is a plain response
  EXPECT_EQ(sink->response->status, 429);
  EXPECT_EQ(find_header(sink->response->headers, "Retry-After"), "1");
}

TEST_F(JobFixture, TemplateRejectionIs400) {
  make_engine(nullptr);
  auto sink = std::make_shared<RecordingSink>();
  // ChatMlRenderer throws PromptRenderError for this role; the parser only allows real roles,
  // so inject it through a name the renderer checks.
  struct Boom : PromptRenderer {
    std::string render(const nlohmann::ordered_json&, const nlohmann::ordered_json&,
                       bool) const override {
      throw PromptRenderError("Conversation roles must alternate user/assistant");
    }
  };
  ServedModel m = catalog->models()[0];
  m.renderer = std::make_shared<Boom>();
  catalog = std::make_shared<ModelCatalog>(std::vector<ServedModel>{m});
  run({}, sink);
  ASSERT_TRUE(sink->wait_end());
  EXPECT_EQ(sink->response->status, 400);
  EXPECT_NE(sink->response->body.find("alternate"), std::string::npos);
}

TEST_F(JobFixture, MaxTokensAboveServerLimitIs400) {
  make_engine(nullptr);
  auto sink = std::make_shared<RecordingSink>();
  run({{"max_tokens", 100000}}, sink);
  ASSERT_TRUE(sink->wait_end());
  EXPECT_EQ(sink->response->status, 400);
  EXPECT_EQ(json::parse(sink->response->body)["error"]["param"], "max_tokens");
}

TEST_F(JobFixture, AbandonCancelsTheSequenceAndReportsDone) {
  testing::FakeEngine::Options o;
  o.step = 5ms;
  o.script = [](const std::string&) { return std::vector<std::string>(1000, "x"); };
  engine = std::make_unique<testing::FakeEngine>(o);
  ServedModel m;
  m.id = "fake";
  m.engine = engine.get();
  m.renderer = std::make_shared<testing::ChatMlRenderer>();
  catalog = std::make_shared<ModelCatalog>(std::vector<ServedModel>{m});
  auto sink = std::make_shared<RecordingSink>();
  auto job = run({{"stream", true}}, sink);
  ASSERT_TRUE(sink->wait_stream_contains("\"x\""));
  strand.post([job] { job->abandon(); });
  auto s = summary();
  EXPECT_EQ(s.status, 499);
  EXPECT_EQ(engine->cancelled().size(), 1u);
  EXPECT_TRUE(engine->wait_idle(2s));
}

TEST_F(JobFixture, ShutdownEndsTheStreamWithAnErrorEventAndDone) {
  testing::FakeEngine::Options o;
  o.step = 5ms;
  o.script = [](const std::string&) { return std::vector<std::string>(1000, "x"); };
  engine = std::make_unique<testing::FakeEngine>(o);
  ServedModel m;
  m.id = "fake";
  m.engine = engine.get();
  m.renderer = std::make_shared<testing::ChatMlRenderer>();
  catalog = std::make_shared<ModelCatalog>(std::vector<ServedModel>{m});
  auto sink = std::make_shared<RecordingSink>();
  auto job = run({{"stream", true}}, sink);
  ASSERT_TRUE(sink->wait_stream_contains("\"x\""));
  strand.post([job] { job->shutdown(); });
  ASSERT_TRUE(sink->wait_end());
  auto ev = sink->events();
  ASSERT_GE(ev.size(), 2u);
  EXPECT_EQ(ev.back(), "[DONE]");
  EXPECT_TRUE(ev[ev.size() - 2].contains("error"));
  summary();
}

TEST_F(JobFixture, LogprobsAreReportedPerToken) {
  make_engine([](const std::string&) { return split("ab"); });
  auto sink = std::make_shared<RecordingSink>();
  run({{"logprobs", true}, {"top_logprobs", 2}}, sink);
  ASSERT_TRUE(sink->wait_end());
  json lp = json::parse(sink->response->body)["choices"][0]["logprobs"];
  ASSERT_EQ(lp["content"].size(), 2u);
  EXPECT_EQ(lp["content"][0]["token"], "a");
  EXPECT_EQ(lp["content"][0]["bytes"], json::array({97}));
  EXPECT_EQ(lp["content"][0]["top_logprobs"].size(), 2u);
}

// ---- constrained decoding of tool calls --------------------------------------------------

struct ConstraintFixture : JobFixture {
  // A byte-level fake engine that the real Hermes dialect and constraint work with.
  void make_qwen_engine(std::function<std::vector<std::string>(const std::string&)> script,
                        std::vector<std::string> server_tools, bool constrain = true) {
    testing::FakeEngine::Options o;
    o.script = std::move(script);
    o.architecture = "qwen2";
    engine = std::make_unique<testing::FakeEngine>(o);
    ServedModel m;
    m.id = "fake";
    m.engine = engine.get();
    m.renderer = std::make_shared<testing::ChatMlRenderer>();
    m.tool_syntax = make_tool_call_syntax(*engine);
    m.constraints = make_reply_constraints(*engine);
    m.constrain_tool_calls = constrain;
    m.server_tools = std::move(server_tools);
    catalog = std::make_shared<ModelCatalog>(std::vector<ServedModel>{m});
  }

  // Feeds text to a processor as byte tokens (the fake vocabulary); false at the first refusal.
  static bool feed(engine::LogitsProcessor& p, std::string_view text) {
    for (char c : text) {
      const auto id = static_cast<int32_t>(static_cast<uint8_t>(c));
      if (!p.allows(id)) return false;
      p.accept(id);
    }
    return true;
  }
  static constexpr int32_t kEos = 257;
};

const char* kWeatherTool = R"([{"type": "function", "function": {"name": "get_weather",
  "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                 "required": ["city"]}}}])";

TEST_F(ConstraintFixture, RequiredToolChoiceConstrainsTheCallFromTheForcedPrefixOn) {
  make_qwen_engine([](const std::string&) { return split("get_weather\", \"arguments\": {}}"); },
                   {});
  auto sink = std::make_shared<RecordingSink>();
  run({{"tools", json::parse(kWeatherTool)}, {"tool_choice", "required"}}, sink);
  ASSERT_TRUE(sink->wait_end());
  auto procs = engine->processors();
  ASSERT_EQ(procs.size(), 1u);
  ASSERT_TRUE(procs[0]);
  // The prompt already ends in `<tool_call>\n{"name": "`: only a declared name may follow,
  // the reply may not end yet, and the arguments must follow the schema.
  EXPECT_FALSE(procs[0]->allows(kEos));
  EXPECT_FALSE(procs[0]->allows('x'));
  EXPECT_TRUE(feed(*procs[0], "get_weather\", \"arguments\": {\""));
  EXPECT_FALSE(procs[0]->allows('t'));  // no "town"
  EXPECT_TRUE(feed(*procs[0], "city\": \"Oslo\"}}\n</tool_call>"));
  EXPECT_TRUE(procs[0]->allows(kEos));
}

TEST_F(ConstraintFixture, AutoToolChoiceConstrainsLazily) {
  make_qwen_engine([](const std::string&) { return split("Hi"); }, {});
  auto sink = std::make_shared<RecordingSink>();
  run({{"tools", json::parse(kWeatherTool)}}, sink);
  ASSERT_TRUE(sink->wait_end());
  auto procs = engine->processors();
  ASSERT_EQ(procs.size(), 1u);
  ASSERT_TRUE(procs[0]);
  EXPECT_TRUE(procs[0]->allows(kEos));
  EXPECT_TRUE(feed(*procs[0], "Let me look that up. <tool_call>\n{\"name\": \""));
  EXPECT_FALSE(procs[0]->allows(kEos));
  EXPECT_FALSE(procs[0]->allows('x'));
}

TEST_F(ConstraintFixture, NoConstraintWithoutToolsOrWhenTurnedOff) {
  make_qwen_engine([](const std::string&) { return split("Hi"); }, {});
  auto sink = std::make_shared<RecordingSink>();
  run({}, sink);
  ASSERT_TRUE(sink->wait_end());
  ASSERT_EQ(engine->processors().size(), 1u);
  EXPECT_FALSE(engine->processors()[0]);

  summary();  // the first job has reported its end before the promise is replaced
  done = {};
  make_qwen_engine([](const std::string&) { return split("Hi"); }, {}, /*constrain=*/false);
  auto sink2 = std::make_shared<RecordingSink>();
  run({{"tools", json::parse(kWeatherTool)}, {"tool_choice", "required"}}, sink2);
  ASSERT_TRUE(sink2->wait_end());
  ASSERT_EQ(engine->processors().size(), 1u);
  EXPECT_FALSE(engine->processors()[0]);
}

TEST_F(ConstraintFixture, EveryRoundOfTheServerToolLoopGetsAFreshLazyConstraint) {
  make_qwen_engine(
      [](const std::string& prompt) {
        if (prompt.find("<|im_start|>tool\n5") != std::string::npos)
          return split("The sum is 5.", 4);
        // After the forced prefix `<tool_call>\n{"name": "`.
        return std::vector<std::string>{"add\", \"arguments\": {\"a\": 2, \"b\": 3}}\n</tool_call>"};
      },
      {});
  auto sink = std::make_shared<RecordingSink>();
  run({{"tools", json::parse(R"([{"type": "function", "function": {"name": "add"}}])")},
       {"tool_choice", "required"}},
      sink);
  ASSERT_TRUE(sink->wait_end());
  auto procs = engine->processors();
  ASSERT_EQ(procs.size(), 2u);
  ASSERT_TRUE(procs[0]);
  ASSERT_TRUE(procs[1]);
  EXPECT_NE(procs[0], procs[1]);
  EXPECT_FALSE(procs[0]->allows(kEos));  // round 1: forced
  EXPECT_TRUE(procs[1]->allows(kEos));   // round 2: tool_choice no longer applies
  EXPECT_TRUE(feed(*procs[1], "<tool_call>{\"name\": \"a"));
  EXPECT_FALSE(procs[1]->allows('x'));  // only "add" is declared
}

TEST_F(ConstraintFixture, ResponseFormatJsonSchemaConstrainsTheWholeReply) {
  make_qwen_engine([](const std::string&) { return split("{\"n\": 3}"); }, {});
  auto sink = std::make_shared<RecordingSink>();
  run({{"response_format",
        {{"type", "json_schema"},
         {"json_schema",
          {{"name", "count"},
           {"strict", true},
           {"schema", json::parse(R"({"type":"object","properties":{"n":{"type":"integer",
              "minimum":1,"maximum":5}},"required":["n"],"additionalProperties":false})")}}}}},
       {"stop", json::array({"}"})}},
      sink);
  ASSERT_TRUE(sink->wait_end());
  ASSERT_EQ(sink->response->status, 200);
  // The stop sequence does not cut a structured reply.
  EXPECT_EQ(json::parse(sink->response->body)["choices"][0]["message"]["content"], "{\"n\": 3}");
  auto procs = engine->processors();
  ASSERT_EQ(procs.size(), 1u);
  ASSERT_TRUE(procs[0]);
  EXPECT_FALSE(procs[0]->allows(kEos));
  EXPECT_FALSE(procs[0]->allows('H'));  // no free text before the value
  EXPECT_TRUE(feed(*procs[0], "{\"n\": "));
  EXPECT_FALSE(procs[0]->allows('7'));  // out of bounds
  EXPECT_TRUE(feed(*procs[0], "4}"));
  EXPECT_TRUE(procs[0]->allows(kEos));
  EXPECT_FALSE(procs[0]->allows(' '));  // nothing after the value
}

TEST_F(ConstraintFixture, ResponseFormatWithToolsIsEitherCallsOrTheAnswer) {
  make_qwen_engine([](const std::string&) { return split("{}"); }, {});
  auto sink = std::make_shared<RecordingSink>();
  run({{"tools", json::parse(kWeatherTool)}, {"response_format", {{"type", "json_object"}}}}, sink);
  ASSERT_TRUE(sink->wait_end());
  auto procs = engine->processors();
  ASSERT_TRUE(procs[0]);
  EXPECT_FALSE(procs[0]->allows(kEos));
  EXPECT_TRUE(procs[0]->allows('<'));  // a call
  EXPECT_TRUE(procs[0]->allows('{'));  // the answer
  EXPECT_FALSE(procs[0]->allows('L'));  // no free text: the answer or calls
  EXPECT_TRUE(feed(*procs[0], "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": "
                              "{\"city\": \"Oslo\"}}\n</tool_call>"));
  EXPECT_TRUE(procs[0]->allows(kEos));
  EXPECT_FALSE(procs[0]->allows('D'));  // nor after the calls
  // A reply that starts as the answer stays the answer: it cannot turn into free text.
  auto sink2 = std::make_shared<RecordingSink>();
  summary();  // the first job has reported its end before the promise is replaced
  done = {};
  run({{"tools", json::parse(kWeatherTool)},
       {"response_format",
        {{"type", "json_schema"},
         {"json_schema",
          {{"name", "r"},
           {"schema", json::parse(R"({"type":"object","properties":{"a":{"type":"integer"},
              "b":{"type":"string"}},"required":["a","b"],"additionalProperties":false})")}}}}}},
      sink2);
  ASSERT_TRUE(sink2->wait_end());
  auto p2 = engine->processors().back();
  ASSERT_TRUE(p2);
  EXPECT_TRUE(feed(*p2, "{\"a\": 1"));
  EXPECT_FALSE(p2->allows('}'));  // b is required, and "{"a": 1}" is not a call either
  EXPECT_TRUE(feed(*p2, ", \"b\": \"x\"}"));
  EXPECT_TRUE(p2->allows(kEos));
}

TEST_F(ConstraintFixture, StrictSchemaWithAnUnsupportedKeywordIsA400NamingIt) {
  make_qwen_engine([](const std::string&) { return split("{}"); }, {});
  auto sink = std::make_shared<RecordingSink>();
  run({{"response_format",
        {{"type", "json_schema"},
         {"json_schema",
          {{"name", "s"},
           {"strict", true},
           {"schema", json::parse(R"({"type":"object","properties":{"x":{"type":"integer",
              "multipleOf":3}}})")}}}}}},
      sink);
  ASSERT_TRUE(sink->wait_end());
  ASSERT_EQ(sink->response->status, 400);
  json err = json::parse(sink->response->body)["error"];
  EXPECT_EQ(err["param"], "response_format.json_schema.schema.properties.x.multipleOf");
  EXPECT_EQ(err["type"], "invalid_request_error");
  EXPECT_TRUE(engine->prompts().empty());  // refused before anything was generated
}

TEST_F(ConstraintFixture, StrictToolsAreConstrainedEvenWhenTheConfigTurnsItOff) {
  make_qwen_engine([](const std::string&) { return split("Hi"); }, {}, /*constrain=*/false);
  auto sink = std::make_shared<RecordingSink>();
  json tools = json::parse(kWeatherTool);
  tools[0]["function"]["strict"] = true;
  run({{"tools", tools}}, sink);
  ASSERT_TRUE(sink->wait_end());
  auto procs = engine->processors();
  ASSERT_TRUE(procs[0]);
  EXPECT_TRUE(feed(*procs[0], "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\""));
  EXPECT_FALSE(procs[0]->allows('t'));  // only "city"
}

TEST_F(ConstraintFixture, TheServerToolLoopEndsWithTheAnswerUnderTheSchema) {
  make_qwen_engine(
      [](const std::string& prompt) {
        if (prompt.find("<|im_start|>tool\n5") != std::string::npos)
          return split("{\"sum\": 5}", 3);
        return split("<tool_call>\n{\"name\": \"add\", \"arguments\": {\"a\": 2, \"b\": 3}}\n</tool_call>", 5);
      },
      {"add"});
  auto sink = std::make_shared<RecordingSink>();
  run({{"response_format",
        {{"type", "json_schema"},
         {"json_schema",
          {{"name", "sum"},
           {"strict", true},
           {"schema", json::parse(R"({"type":"object","properties":{"sum":{"type":"integer"}},
              "required":["sum"],"additionalProperties":false})")}}}}}},
      sink);
  ASSERT_TRUE(sink->wait_end());
  ASSERT_EQ(sink->response->status, 200);
  json j = json::parse(sink->response->body);
  EXPECT_EQ(j["choices"][0]["message"]["content"], "{\"sum\": 5}");
  EXPECT_EQ(j["choices"][0]["message"]["toolgate_tool_runs"].size(), 1u);
  auto procs = engine->processors();
  ASSERT_EQ(procs.size(), 2u);
  for (auto& p : procs) {
    ASSERT_TRUE(p);
    EXPECT_FALSE(p->allows('T'));  // every round: calls or the answer, never text
    EXPECT_TRUE(p->allows('{'));
  }
}

}  // namespace
}  // namespace toolgate::gateway
