// Stored completions in the gateway: the stream assembler, the `store`/`metadata`/list-query
// parameters, the sink that stores on the way out, and the endpoints against a real store.
#include <gtest/gtest.h>

#include <filesystem>
#include <random>

#include "fakes.h"
#include "gateway/admission_control.h"
#include "gateway/completion_assembler.h"
#include "gateway/http_api.h"
#include "gateway/key_owner.h"
#include "gateway/metrics.h"
#include "gateway/sse.h"
#include "gateway/stored_completion_params.h"
#include "gateway/stored_completions_api.h"
#include "gateway/storing_sink.h"
#include "recording_sink.h"
#include "store/completion_store.h"

namespace toolgate::gateway {
namespace {

using nlohmann::json;
using nlohmann::ordered_json;
namespace fs = std::filesystem;

json chunk(const json& delta, json finish = nullptr, int index = 0) {
  return {
      {"id", "chatcmpl-abc"},
      {"object", "chat.completion.chunk"},
      {"created", 1700000000},
      {"model", "m"},
      {"choices", json::array({{{"index", index}, {"delta", delta}, {"finish_reason", finish}}})}};
}

TEST(CompletionAssembler, ConcatenatesContentAndToolCallsPerChoice) {
  CompletionAssembler a;
  a.add_chunk(chunk({{"role", "assistant"}, {"content", ""}}));
  a.add_chunk(chunk({{"content", "Hel"}}));
  a.add_chunk(chunk({{"content", "lo"}}));
  a.add_chunk(
      chunk({{"tool_calls",
              json::array({{{"index", 0},
                            {"id", "call_1"},
                            {"type", "function"},
                            {"function", {{"name", "add"}, {"arguments", "{\"a\":"}}}}})}}));
  a.add_chunk(
      chunk({{"tool_calls", json::array({{{"index", 0}, {"function", {{"arguments", "1}"}}}}})}}));
  a.add_chunk(chunk(
      {{"toolgate_tool_runs", json::array({{{"id", "call_0"}, {"ok", true}, {"round", 1}}})}}));
  a.add_chunk(chunk(json::object(), "tool_calls"));
  a.add_chunk({{"id", "chatcmpl-abc"},
               {"choices", json::array()},
               {"usage", {{"prompt_tokens", 3}, {"completion_tokens", 4}, {"total_tokens", 7}}}});
  ASSERT_FALSE(a.failed());
  json c = a.completion();
  EXPECT_EQ(c["id"], "chatcmpl-abc");
  EXPECT_EQ(c["object"], "chat.completion");
  EXPECT_EQ(c["created"], 1700000000);
  const json& m = c["choices"][0]["message"];
  EXPECT_EQ(m["content"], "Hello");
  EXPECT_EQ(m["tool_calls"][0]["id"], "call_1");
  EXPECT_EQ(m["tool_calls"][0]["function"]["name"], "add");
  EXPECT_EQ(m["tool_calls"][0]["function"]["arguments"], "{\"a\":1}");
  EXPECT_EQ(m["toolgate_tool_runs"].size(), 1u);
  EXPECT_EQ(c["choices"][0]["finish_reason"], "tool_calls");
  EXPECT_EQ(c["usage"]["total_tokens"], 7);
}

TEST(CompletionAssembler, AnErrorEventMarksTheStreamFailed) {
  CompletionAssembler a;
  a.add_chunk(chunk({{"content", "x"}}));
  a.add_chunk({{"error", {{"message", "boom"}}}});
  EXPECT_TRUE(a.failed());
}

TEST(StoreParams, WithoutStoreNothingIsKeptButMetadataIsChecked) {
  ordered_json body = {{"model", "m"}, {"messages", json::array()}};
  auto r = parse_store_intent(body, "");
  ASSERT_TRUE(std::holds_alternative<std::optional<StoreIntent>>(r));
  EXPECT_FALSE(std::get<std::optional<StoreIntent>>(r));
  body["metadata"] = {{"k", 1}};
  EXPECT_TRUE(std::holds_alternative<ApiError>(parse_store_intent(body, "")));
}

TEST(StoreParams, StreamedStoreAsksForUsageAndRemembersTheClientDidNot) {
  ordered_json body = {
      {"model", "m"}, {"stream", true}, {"store", true}, {"metadata", {{"a", "b"}}}};
  auto r = parse_store_intent(body, "owner");
  auto& intent = std::get<std::optional<StoreIntent>>(r);
  ASSERT_TRUE(intent);
  EXPECT_FALSE(intent->client_wants_usage);
  EXPECT_EQ(intent->owner, "owner");
  EXPECT_EQ(intent->metadata.at("a"), "b");
  EXPECT_FALSE(body.contains("store"));
  EXPECT_FALSE(body.contains("metadata"));
  EXPECT_EQ(body["stream_options"]["include_usage"], true);
  EXPECT_FALSE(intent->request.contains("metadata"));
}

TEST(StoreParams, MetadataLimitsAreOpenAIs) {
  ordered_json md = ordered_json::object();
  for (int i = 0; i < 16; ++i) {
    std::string key = "k";
    key += std::to_string(i);  // not "k" + …: GCC 12 warns falsely (-Wrestrict)
    md[key] = "v";
  }
  EXPECT_TRUE(std::holds_alternative<store::Metadata>(parse_metadata(md)));
  md["k16"] = "v";
  EXPECT_TRUE(std::holds_alternative<ApiError>(parse_metadata(md)));
  EXPECT_TRUE(std::holds_alternative<ApiError>(parse_metadata({{std::string(65, 'k'), "v"}})));
  EXPECT_TRUE(std::holds_alternative<store::Metadata>(
      parse_metadata({{std::string(64, 'k'), std::string(512, 'v')}})));
  EXPECT_TRUE(std::holds_alternative<ApiError>(parse_metadata({{"k", std::string(513, 'v')}})));
  EXPECT_TRUE(std::holds_alternative<ApiError>(parse_metadata(ordered_json::array())));
  EXPECT_TRUE(std::holds_alternative<store::Metadata>(parse_metadata(nullptr)));
  auto bad = std::get<ApiError>(parse_metadata({{"k", 5}}));
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(bad.param, "metadata");
}

TEST(StoreParams, ListQueryReadsFiltersAndRejectsBadPages) {
  auto q = std::get<store::ListQuery>(parse_list_query(
      "model=m1&metadata%5Bteam%5D=a+b&metadata[env]=prod&limit=5&order=desc&after=chatcmpl-x"));
  EXPECT_EQ(q.model, "m1");
  EXPECT_EQ(q.metadata.at("team"), "a b");
  EXPECT_EQ(q.metadata.at("env"), "prod");
  EXPECT_EQ(q.limit, 5);
  EXPECT_TRUE(q.descending);
  EXPECT_EQ(q.after, "chatcmpl-x");
  for (const char* bad :
       {"limit=0", "limit=101", "limit=x", "limit=5x", "order=up", "after=a%20b"}) {
    auto r = parse_list_query(bad);
    ASSERT_TRUE(std::holds_alternative<ApiError>(r)) << bad;
    EXPECT_EQ(std::get<ApiError>(r).status, 400) << bad;
  }
  EXPECT_EQ(std::get<store::ListQuery>(parse_list_query("")).limit, 20);
}

TEST(StoreParams, CompletionIds) {
  EXPECT_TRUE(valid_completion_id("chatcmpl-AbC123"));
  EXPECT_TRUE(valid_completion_id("cmpl-1.2:3_x"));
  EXPECT_FALSE(valid_completion_id(""));
  EXPECT_FALSE(valid_completion_id("a b"));
  EXPECT_FALSE(valid_completion_id("a/b"));
  EXPECT_FALSE(valid_completion_id(std::string(129, 'a')));
}

class StoredCompletionsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ =
        fs::temp_directory_path() / ("toolgate-gw-store-" + std::to_string(std::random_device{}()));
    fs::create_directories(dir_);
    store::StoreOptions o;
    o.path = (dir_ / "s.db").string();
    store_ = std::make_unique<store::CompletionStore>(o);
  }
  void TearDown() override {
    store_.reset();
    fs::remove_all(dir_);
  }
  StoreIntent intent(bool wants_usage) {
    StoreIntent i;
    i.owner = "o";
    i.metadata = {{"t", "1"}};
    i.request = {{"model", "m"},
                 {"messages", json::array({{{"role", "user"}, {"content", "hi"}}})}};
    i.client_wants_usage = wants_usage;
    return i;
  }
  HttpResponse run(const HttpRequest& req) {
    StoredCompletionsApi api(store_.get());
    auto action = api.route(req, "o");
    if (auto* d = std::get_if<DeferredResponse>(&action)) return d->run();
    return std::get<HttpResponse>(action);
  }
  fs::path dir_;
  std::unique_ptr<store::CompletionStore> store_;
};

TEST_F(StoredCompletionsTest, StreamIsStoredBeforeItEndsAndTheUnaskedUsageIsDropped) {
  auto recorder = std::make_shared<testing::RecordingSink>();
  Post inline_post = [](std::function<void()> f) { f(); };
  auto sink = std::make_shared<StoringSink>(recorder, intent(false), store_.get(), inline_post);
  HttpResponse head;
  sink->begin_stream(head);
  sink->stream_data(sse_event(chunk({{"role", "assistant"}, {"content", "Hi"}})));
  sink->stream_data(sse_event(chunk({{"content", " there"}}, "stop")) +
                    sse_event({{"id", "chatcmpl-abc"},
                               {"choices", json::array()},
                               {"usage", {{"prompt_tokens", 1}, {"completion_tokens", 2}}}}) +
                    std::string(sse_done()));
  sink->end_stream();
  ASSERT_TRUE(recorder->wait_end());
  // Ended only after the commit: the row is readable now, without a flush.
  auto row = store_->get("o", "chatcmpl-abc");
  ASSERT_TRUE(row);
  auto response = json::parse(row->response_json);
  EXPECT_EQ(response["choices"][0]["message"]["content"], "Hi there");
  EXPECT_EQ(response["usage"]["completion_tokens"], 2);
  EXPECT_EQ(row->metadata.at("t"), "1");
  auto events = recorder->events();
  ASSERT_EQ(events.size(), 3u);  // two chunks and [DONE]: no usage chunk
  EXPECT_EQ(events.back(), "[DONE]");
}

TEST_F(StoredCompletionsTest, ErrorsAndFailedStreamsAreNotStored) {
  auto recorder = std::make_shared<testing::RecordingSink>();
  Post inline_post = [](std::function<void()> f) { f(); };
  auto sink = std::make_shared<StoringSink>(recorder, intent(true), store_.get(), inline_post);
  sink->begin_stream(HttpResponse{});
  sink->stream_data(sse_event(chunk({{"content", "Hi"}})));
  sink->stream_data(sse_event({{"error", {{"message", "x"}}}}) + std::string(sse_done()));
  sink->end_stream();
  ASSERT_TRUE(recorder->wait_end());
  store_->flush();
  EXPECT_FALSE(store_->get("o", "chatcmpl-abc"));
}

TEST_F(StoredCompletionsTest, EndpointsRetrieveListMessagesUpdateDelete) {
  auto recorder = std::make_shared<testing::RecordingSink>();
  Post inline_post = [](std::function<void()> f) { f(); };
  auto sink = std::make_shared<StoringSink>(recorder, intent(true), store_.get(), inline_post);
  json completion = {{"id", "chatcmpl-1"},
                     {"object", "chat.completion"},
                     {"created", 5},
                     {"model", "m"},
                     {"choices", json::array()}};
  sink->send_response(json_response(200, completion.dump()));
  ASSERT_TRUE(recorder->wait_end());

  HttpRequest get{"GET", "/v1/chat/completions/chatcmpl-1", {}, ""};
  auto r = run(get);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(json::parse(r.body)["metadata"]["t"], "1");

  auto list = run({"GET", "/v1/chat/completions?limit=1", {}, ""});
  auto lj = json::parse(list.body);
  EXPECT_EQ(lj["object"], "list");
  EXPECT_EQ(lj["first_id"], "chatcmpl-1");
  EXPECT_EQ(lj["has_more"], false);

  auto msgs = json::parse(run({"GET", "/v1/chat/completions/chatcmpl-1/messages", {}, ""}).body);
  EXPECT_EQ(msgs["data"][0]["id"], "chatcmpl-1-0");
  EXPECT_EQ(msgs["data"][0]["content"], "hi");

  auto up = run({"POST", "/v1/chat/completions/chatcmpl-1", {}, R"({"metadata":{"x":"y"}})"});
  EXPECT_EQ(json::parse(up.body)["metadata"], json({{"x", "y"}}));

  EXPECT_EQ(run({"GET", "/v1/chat/completions/chatcmpl-2", {}, ""}).status, 404);
  EXPECT_EQ(run({"GET", "/v1/chat/completions/bad%20id", {}, ""}).status, 400);
  EXPECT_EQ(run({"POST", "/v1/chat/completions/chatcmpl-1", {}, R"({"nometadata":1})"}).status,
            400);
  EXPECT_EQ(run({"PUT", "/v1/chat/completions/chatcmpl-1", {}, ""}).status, 405);
  auto del = run({"DELETE", "/v1/chat/completions/chatcmpl-1", {}, ""});
  EXPECT_EQ(json::parse(del.body)["deleted"], true);
  EXPECT_EQ(run(get).status, 404);
}

class HttpApiStoreTest : public StoredCompletionsTest {
 protected:
  std::unique_ptr<HttpApi> make(bool with_store, bool web_ui = true) {
    auto api =
        std::make_unique<HttpApi>(ApiKeyAuth({"k1", "k2"}), CorsPolicy({}), &metrics_, &admission_);
    ServedModel m;
    m.id = "m";
    m.engine = &engine_;
    api->publish(std::make_shared<ModelCatalog>(std::vector<ServedModel>{m}));
    if (with_store) api->set_store(store_.get());
    api->set_web_ui(web_ui);
    return api;
  }
  static HttpRequest req(std::string method, std::string target, std::string body = "",
                         std::string key = "k1") {
    HttpHeaders h;
    if (!key.empty()) h.emplace_back("Authorization", "Bearer " + key);
    return HttpRequest{std::move(method), std::move(target), std::move(h), std::move(body)};
  }
  testing::FakeEngine engine_{{}};
  Metrics metrics_;
  AdmissionControl admission_{4, 4};
};

TEST_F(HttpApiStoreTest, StoreTrueCarriesTheIntentWithTheKeysHashAsOwner) {
  auto api = make(true);
  auto o = api->handle(req(
      "POST", "/v1/chat/completions",
      R"({"model":"m","messages":[{"role":"user","content":"hi"}],"store":true,"metadata":{"a":"b"}})",
      "k2"));
  auto* start = std::get_if<ChatCompletionStart>(&o.action);
  ASSERT_TRUE(start);
  ASSERT_TRUE(start->store);
  EXPECT_EQ(start->store->owner, sha256_hex("k2"));
  EXPECT_NE(start->store->owner, sha256_hex("k1"));
  EXPECT_EQ(start->store->metadata.at("a"), "b");
}

TEST_F(HttpApiStoreTest, StoreEndpointsNeedAKeyAndRunOffTheIoThread) {
  auto api = make(true);
  EXPECT_EQ(
      std::get<HttpResponse>(api->handle(req("GET", "/v1/chat/completions", "", "")).action).status,
      401);
  EXPECT_EQ(
      std::get<HttpResponse>(api->handle(req("GET", "/v1/chat/completions", "", "bad")).action)
          .status,
      401);
  auto o = api->handle(req("GET", "/v1/chat/completions?limit=5"));
  auto* deferred = std::get_if<DeferredResponse>(&o.action);
  ASSERT_TRUE(deferred);
  EXPECT_EQ(json::parse(deferred->run().body)["object"], "list");
  // Parameter errors are answered at once.
  auto bad = api->handle(req("GET", "/v1/chat/completions?limit=500"));
  EXPECT_EQ(std::get<HttpResponse>(bad.action).status, 400);
}

TEST_F(HttpApiStoreTest, WithoutAStoreStoreIsIgnoredAndThereIsNoList) {
  auto api = make(false);
  auto o =
      api->handle(req("POST", "/v1/chat/completions",
                      R"({"model":"m","messages":[{"role":"user","content":"hi"}],"store":true})"));
  auto* start = std::get_if<ChatCompletionStart>(&o.action);
  ASSERT_TRUE(start);
  EXPECT_FALSE(start->store);
  EXPECT_EQ(std::get<HttpResponse>(api->handle(req("GET", "/v1/chat/completions")).action).status,
            405);
}

TEST_F(HttpApiStoreTest, WebChatIsServedAtTheRootUnlessTurnedOff) {
  auto api = make(true);
  auto page = std::get<HttpResponse>(api->handle(req("GET", "/", "", "")).action);
  EXPECT_EQ(page.status, 200);
  EXPECT_NE(page.body.find("<title>Toolgate chat</title>"), std::string::npos);
  bool csp = false;
  for (const auto& [k, v] : page.headers) csp |= k == "Content-Security-Policy";
  EXPECT_TRUE(csp);
  EXPECT_EQ(std::get<HttpResponse>(api->handle(req("GET", "/ui/app.js", "", "")).action).status,
            200);
  EXPECT_EQ(std::get<HttpResponse>(api->handle(req("GET", "/ui/nope.js", "", "")).action).status,
            404);
  auto off = make(true, false);
  EXPECT_EQ(std::get<HttpResponse>(off->handle(req("GET", "/", "", "")).action).status, 404);
}

}  // namespace
}  // namespace toolgate::gateway
