// The store's contract: migrations, pagination edges, filters, ownership, concurrent writers,
// and failures that become StoreUnavailable / WriteResult::Failed rather than crashes.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <atomic>
#include <ctime>
#include <filesystem>
#include <future>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "store/completion_store.h"
#include "store/finetune_export.h"
#include "store/schema.h"
#include "store/sqlite_db.h"

namespace toolgate::store {
namespace {

namespace fs = std::filesystem;

class TempDb {
 public:
  TempDb() {
    std::random_device rd;
    dir_ = fs::temp_directory_path() / ("toolgate-store-test-" + std::to_string(rd()));
    fs::create_directories(dir_);
  }
  ~TempDb() {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  std::string path() const { return (dir_ / "store.db").string(); }

 private:
  fs::path dir_;
};

StoredCompletion row(const std::string& id, const std::string& owner = "",
                     const std::string& model = "m", Metadata md = {}, int64_t created = 1000) {
  StoredCompletion c;
  c.id = id;
  c.owner = owner;
  c.model = model;
  c.created = created;
  c.metadata = std::move(md);
  c.request_json = R"({"messages":[{"role":"user","content":"hi"}]})";
  c.response_json = R"({"id":")" + id + R"(","object":"chat.completion"})";
  return c;
}

// Built with += (GCC 12 warns falsely, -Wrestrict, about "literal" + std::to_string()).
std::string numbered(std::string prefix, int i, int j = -1) {
  prefix += std::to_string(i);
  if (j >= 0) {
    prefix += '-';
    prefix += std::to_string(j);
  }
  return prefix;
}

StoreOptions opts(const std::string& path, int busy_timeout_ms = 2000, int retention_days = 0) {
  StoreOptions o;
  o.path = path;
  o.busy_timeout_ms = busy_timeout_ms;
  o.retention_days = retention_days;
  return o;
}

WriteResult insert_now(CompletionStore& s, StoredCompletion c) {
  std::promise<WriteResult> p;
  auto f = p.get_future();
  s.insert(std::move(c), [&p](WriteResult r) { p.set_value(r); });
  return f.get();
}

std::vector<std::string> ids(const ListPage& page) {
  std::vector<std::string> out;
  for (const auto& c : page.items) out.push_back(c.id);
  return out;
}

TEST(Schema, NewDatabaseIsMigratedToTheLatestVersion) {
  TempDb tmp;
  { CompletionStore s(opts(tmp.path())); }
  SqliteDb db(tmp.path(), false, 100);
  EXPECT_EQ(schema_version(db), schema_version_latest());
  EXPECT_GE(schema_version_latest(), 1);
}

TEST(Schema, ReopeningKeepsRowsAndVersion) {
  TempDb tmp;
  {
    CompletionStore s(opts(tmp.path()));
    EXPECT_EQ(insert_now(s, row("a")), WriteResult::Ok);
  }
  CompletionStore s(opts(tmp.path()));
  EXPECT_TRUE(s.get("", "a").has_value());
}

TEST(Schema, DatabaseFromANewerBuildIsRefused) {
  TempDb tmp;
  {
    SqliteDb db(tmp.path(), true, 100);
    db.exec("PRAGMA user_version = 999");
  }
  EXPECT_THROW(CompletionStore(opts(tmp.path())), StoreUnavailable);
}

TEST(Schema, DatabaseIsInWalMode) {
  TempDb tmp;
  CompletionStore s(opts(tmp.path()));
  SqliteDb db(tmp.path(), false, 100);
  auto st = db.prepare("PRAGMA journal_mode");
  ASSERT_TRUE(st.step());
  EXPECT_EQ(st.text(0), "wal");
}

TEST(CompletionStore, UnopenablePathIsUnavailable) {
  EXPECT_THROW(CompletionStore(opts("/nonexistent-dir/x/store.db")), StoreUnavailable);
}

TEST(CompletionStore, InsertThenGetReturnsTheSameRow) {
  TempDb tmp;
  CompletionStore s(opts(tmp.path()));
  ASSERT_EQ(insert_now(s, row("chatcmpl-1", "k1", "smol", {{"topic", "x"}}, 1234)),
            WriteResult::Ok);
  auto got = s.get("k1", "chatcmpl-1");
  ASSERT_TRUE(got);
  EXPECT_EQ(got->model, "smol");
  EXPECT_EQ(got->created, 1234);
  EXPECT_EQ(got->metadata.at("topic"), "x");
  EXPECT_EQ(got->response_json, R"({"id":"chatcmpl-1","object":"chat.completion"})");
}

TEST(CompletionStore, DuplicateIdFailsAloneInItsBatch) {
  TempDb tmp;
  CompletionStore s(opts(tmp.path()));
  std::promise<WriteResult> a, b, c;
  s.insert(row("x"), [&](WriteResult r) { a.set_value(r); });
  s.insert(row("x"), [&](WriteResult r) { b.set_value(r); });
  s.insert(row("y"), [&](WriteResult r) { c.set_value(r); });
  EXPECT_EQ(a.get_future().get(), WriteResult::Ok);
  EXPECT_EQ(b.get_future().get(), WriteResult::Failed);
  EXPECT_EQ(c.get_future().get(), WriteResult::Ok);
  EXPECT_TRUE(s.get("", "y"));
}

TEST(CompletionStore, AnotherOwnerSeesNothing) {
  TempDb tmp;
  CompletionStore s(opts(tmp.path()));
  insert_now(s, row("a", "owner1"));
  EXPECT_FALSE(s.get("owner2", "a"));
  EXPECT_FALSE(s.get("", "a"));
  ListQuery q;
  q.owner = "owner2";
  EXPECT_TRUE(s.list(q).items.empty());
  EXPECT_EQ(s.update_metadata("owner2", "a", {{"k", "v"}}), WriteResult::NotFound);
  EXPECT_EQ(s.remove("owner2", "a"), WriteResult::NotFound);
  EXPECT_TRUE(s.get("owner1", "a"));
  // `after` naming another owner's completion is not a way to probe it.
  q.after = "a";
  EXPECT_TRUE(s.list(q).after_not_found);
}

TEST(CompletionStore, UpdateReplacesMetadataAndDeleteRemoves) {
  TempDb tmp;
  CompletionStore s(opts(tmp.path()));
  insert_now(s, row("a", "o", "m", {{"old", "1"}}));
  EXPECT_EQ(s.update_metadata("o", "a", {{"new", "2"}}), WriteResult::Ok);
  EXPECT_EQ(s.get("o", "a")->metadata, (Metadata{{"new", "2"}}));
  EXPECT_EQ(s.remove("o", "a"), WriteResult::Ok);
  EXPECT_FALSE(s.get("o", "a"));
  EXPECT_EQ(s.remove("o", "a"), WriteResult::NotFound);
}

class Paged : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = std::make_unique<CompletionStore>(opts(tmp_.path()));
    for (int i = 0; i < 5; ++i) store_->insert(row(numbered("c", i), "o"));
    store_->flush();
  }
  ListPage page(std::optional<std::string> after, int limit, bool desc = false) {
    ListQuery q;
    q.owner = "o";
    q.after = std::move(after);
    q.limit = limit;
    q.descending = desc;
    return store_->list(q);
  }
  TempDb tmp_;
  std::unique_ptr<CompletionStore> store_;
};

TEST_F(Paged, AscendingPagesCoverEveryRowOnceInOrder) {
  auto p1 = page(std::nullopt, 2);
  EXPECT_EQ(ids(p1), (std::vector<std::string>{"c0", "c1"}));
  EXPECT_TRUE(p1.has_more);
  auto p2 = page("c1", 2);
  EXPECT_EQ(ids(p2), (std::vector<std::string>{"c2", "c3"}));
  EXPECT_TRUE(p2.has_more);
  auto p3 = page("c3", 2);
  EXPECT_EQ(ids(p3), (std::vector<std::string>{"c4"}));
  EXPECT_FALSE(p3.has_more);
}

TEST_F(Paged, ExactlyFullLastPageHasNoMore) {
  auto p = page(std::nullopt, 5);
  EXPECT_EQ(p.items.size(), 5u);
  EXPECT_FALSE(p.has_more);
}

TEST_F(Paged, AfterTheLastRowIsAnEmptyPage) {
  auto p = page("c4", 10);
  EXPECT_TRUE(p.items.empty());
  EXPECT_FALSE(p.has_more);
  EXPECT_FALSE(p.after_not_found);
}

TEST_F(Paged, DescendingStartsFromTheNewest) {
  auto p = page(std::nullopt, 2, true);
  EXPECT_EQ(ids(p), (std::vector<std::string>{"c4", "c3"}));
  auto p2 = page("c3", 10, true);
  EXPECT_EQ(ids(p2), (std::vector<std::string>{"c2", "c1", "c0"}));
  EXPECT_FALSE(p2.has_more);
}

TEST_F(Paged, UnknownAfterIsReported) { EXPECT_TRUE(page("nope", 2).after_not_found); }

TEST(CompletionStore, FiltersByModelAndEveryMetadataPair) {
  TempDb tmp;
  CompletionStore s(opts(tmp.path()));
  s.insert(row("a", "o", "m1", {{"team", "x"}, {"env", "prod"}}));
  s.insert(row("b", "o", "m2", {{"team", "x"}}));
  s.insert(row("c", "o", "m1", {{"team", "y"}}));
  s.insert(row("d", "o", "m1", {}));
  s.flush();
  ListQuery q;
  q.owner = "o";
  q.model = "m1";
  EXPECT_EQ(ids(s.list(q)), (std::vector<std::string>{"a", "c", "d"}));
  q.metadata = {{"team", "x"}};
  EXPECT_EQ(ids(s.list(q)), (std::vector<std::string>{"a"}));
  q.model.reset();
  EXPECT_EQ(ids(s.list(q)), (std::vector<std::string>{"a", "b"}));
  q.metadata = {{"team", "x"}, {"env", "prod"}};
  EXPECT_EQ(ids(s.list(q)), (std::vector<std::string>{"a"}));
  q.metadata = {{"team", "x"}, {"env", "dev"}};
  EXPECT_TRUE(s.list(q).items.empty());
  // A value that looks like SQL is only ever a value.
  q.metadata = {{"team", "x' OR '1'='1"}};
  EXPECT_TRUE(s.list(q).items.empty());
}

TEST(CompletionStore, ForEachSpansOwnersAndHonoursSince) {
  TempDb tmp;
  CompletionStore s(opts(tmp.path()));
  s.insert(row("a", "o1", "m", {}, 100));
  s.insert(row("b", "o2", "m", {}, 200));
  s.insert(row("c", "o1", "m", {}, 300));
  s.flush();
  ListQuery q;
  q.since = 200;
  std::vector<std::string> seen;
  s.for_each(q, [&](const StoredCompletion& c) { seen.push_back(c.id); });
  EXPECT_EQ(seen, (std::vector<std::string>{"b", "c"}));
}

TEST(CompletionStore, RetentionRemovesOnlyOldRows) {
  TempDb tmp;
  CompletionStore s(opts(tmp.path(), 2000, 1));
  const int64_t now = std::time(nullptr);
  s.insert(row("old", "", "m", {}, now - 3 * 86400));
  s.insert(row("new", "", "m", {}, now));
  s.flush();
  EXPECT_EQ(s.sweep_retention(), WriteResult::Ok);
  EXPECT_FALSE(s.get("", "old"));
  EXPECT_TRUE(s.get("", "new"));
}

TEST(CompletionStore, ConcurrentWritersAndReadersLoseNothing) {
  TempDb tmp;
  CompletionStore s(opts(tmp.path()));
  constexpr int kThreads = 8, kEach = 50;
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        s.insert(row(numbered("t", t, i), "o"), [&](WriteResult r) {
          if (r == WriteResult::Ok) ++ok;
        });
        if (i % 10 == 0) {
          ListQuery q;
          q.owner = "o";
          q.limit = 5;
          (void)s.list(q);  // readers run while the writer commits
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  s.flush();
  EXPECT_EQ(ok.load(), kThreads * kEach);
  ListQuery q;
  q.owner = "o";
  q.limit = 1000;
  EXPECT_EQ(s.list(q).items.size(), static_cast<size_t>(kThreads * kEach));
  EXPECT_EQ(s.write_latency().count, static_cast<uint64_t>(kThreads * kEach));
}

TEST(CompletionStore, LockedDatabaseFailsWritesButNotReads) {
  TempDb tmp;
  CompletionStore s(opts(tmp.path(), 50));
  insert_now(s, row("a"));
  SqliteDb other(tmp.path(), true, 50);
  other.exec("BEGIN EXCLUSIVE");
  EXPECT_EQ(insert_now(s, row("b")), WriteResult::Failed);
  EXPECT_EQ(s.remove("", "a"), WriteResult::Failed);
  EXPECT_TRUE(s.get("", "a"));  // WAL: readers are not blocked by a writer
  other.exec("ROLLBACK");
  EXPECT_EQ(insert_now(s, row("b")), WriteResult::Ok);
  EXPECT_GE(s.write_latency().failed, 2u);
}

TEST(CompletionStore, AFullDatabaseFailsWritesAndKeepsWhatItHas) {
  TempDb tmp;
  StoreOptions o = opts(tmp.path());
  o.max_bytes = 64 * 1024;  // 16 pages of 4 KiB: the schema and a few rows
  CompletionStore s(o);
  StoredCompletion big = row("first");
  big.response_json = std::string(8000, 'x');
  ASSERT_EQ(insert_now(s, big), WriteResult::Ok);
  WriteResult last = WriteResult::Ok;
  int i = 0;
  for (; i < 100 && last == WriteResult::Ok; ++i) {
    StoredCompletion c = row(numbered("fill", i));
    c.response_json = std::string(8000, 'y');
    last = insert_now(s, std::move(c));
  }
  EXPECT_EQ(last, WriteResult::Failed) << "the cap was never reached";
  EXPECT_GE(s.write_latency().failed, 1u);
  EXPECT_TRUE(s.get("", "first"));  // reads go on
  // Freeing space makes writes work again.
  EXPECT_EQ(s.remove("", "first"), WriteResult::Ok);
  EXPECT_EQ(insert_now(s, row("small")), WriteResult::Ok);
}

TEST(FinetuneExport, ToolRunsBecomeCallsAndResultsBeforeTheAnswer) {
  StoredCompletion c;
  c.id = "chatcmpl-1";
  c.request_json =
      R"({"messages":[{"role":"user","content":"2+3?"}],"tools":[{"type":"function","function":{"name":"f"}}]})";
  c.response_json = R"({"choices":[{"message":{"role":"assistant","content":"5",
    "toolgate_tool_runs":[{"id":"call_a","type":"function","function":{"name":"add","arguments":"{\"a\":2,\"b\":3}"},
    "ok":true,"output":"5","round":1}]}}]})";
  auto line = finetune_line(c);
  ASSERT_TRUE(line);
  auto j = nlohmann::json::parse(*line);
  ASSERT_EQ(j["messages"].size(), 4u);
  EXPECT_EQ(j["messages"][1]["tool_calls"][0]["function"]["name"], "add");
  EXPECT_EQ(j["messages"][2]["role"], "tool");
  EXPECT_EQ(j["messages"][2]["tool_call_id"], "call_a");
  EXPECT_EQ(j["messages"][3], nlohmann::json({{"role", "assistant"}, {"content", "5"}}));
  EXPECT_EQ(j["tools"][0]["function"]["name"], "f");
}

TEST(FinetuneExport, RowsWithoutAnAnswerAreSkipped) {
  StoredCompletion c;
  c.request_json = R"({"messages":[{"role":"user","content":"x"}]})";
  c.response_json = R"({"choices":[{"message":{"role":"assistant","content":""}}]})";
  EXPECT_FALSE(finetune_line(c));
  c.response_json = "not json";
  EXPECT_FALSE(finetune_line(c));
}

TEST(FinetuneExport, SplitIsDeterministicAndNearTheAskedShare) {
  int valid = 0;
  for (int i = 0; i < 2000; ++i) {
    const std::string id = numbered("chatcmpl-", i);
    const bool v = in_validation_split(id, 0.1);
    EXPECT_EQ(v, in_validation_split(id, 0.1));
    valid += v;
  }
  EXPECT_GT(valid, 140);
  EXPECT_LT(valid, 260);
  EXPECT_FALSE(in_validation_split("x", 0));
  EXPECT_TRUE(in_validation_split("x", 1));
}

}  // namespace
}  // namespace toolgate::store
