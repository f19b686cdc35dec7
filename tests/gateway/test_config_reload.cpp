#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <map>

#include "gateway/config_reload.h"
#include "gateway/upstream_pool.h"

namespace toolgate::gateway {
namespace {

SamplingDefaults no_sampling(const config::SamplingDefaults&) { return {}; }

config::Config base() {
  config::Config c;
  config::ModelConfig local;
  local.id = "local";
  local.path = "/models/m.gguf";
  c.models.push_back(local);
  config::ModelConfig remote;
  remote.id = "remote";
  remote.upstream.emplace();
  remote.upstream->base_url = "http://127.0.0.1:9001/v1";
  c.models.push_back(remote);
  return c;
}

// Files as a test says they are: a path's identity is its entry in `files` (absent = missing).
struct FakeFiles {
  std::map<std::string, FileIdentity> files{{"/models/m.gguf", {1, 10, 1000, 5}},
                                            {"/models/d.gguf", {1, 11, 500, 5}},
                                            {"/models/a.gguf", {1, 12, 50, 5}}};
  FileIdentityFn fn() const {
    return [this](const std::string& path) -> std::optional<FileIdentity> {
      auto it = files.find(path);
      if (it == files.end()) return std::nullopt;
      return it->second;
    };
  }
};

// The specs of the running engines: every local model of `c`, loaded with the files as they are.
std::map<std::string, LocalEngineSpec> running_of(const config::Config& c, const FakeFiles& files) {
  std::map<std::string, LocalEngineSpec> running;
  for (const auto& m : c.models)
    if (!m.path.empty()) running.emplace(m.id, local_engine_spec(c, m, files.fn()));
  return running;
}

// Reloads `current` (its engines loaded when the files were as in FakeFiles{}) with `next`,
// the files now being `files`.
ReloadPlan plan(const config::Config& next, const FakeFiles& files,
                const config::Config& current = base()) {
  const FakeFiles at_load;
  return plan_reload(current, next, running_of(current, at_load), &no_sampling, files.fn());
}

using Ids = std::vector<std::string>;

TEST(ConfigReload, RebuildsUpstreamPoolsAndKeys) {
  config::Config next = base();
  next.models[1].upstream->base_url.clear();
  next.models[1].upstream->members = {{"http://127.0.0.1:9001/v1", "", 1, 0},
                                      {"http://127.0.0.1:9002/v1", "", 1, 0}};
  next.server.keys.push_back({"alice", "sk-a", {}, 60, 0, false});
  ReloadPlan p = plan(next, FakeFiles{});
  ASSERT_TRUE(p.problems.empty()) << p.problems.front();
  ASSERT_EQ(p.upstream_models.size(), 1u);
  EXPECT_EQ(p.upstream_models[0].upstream_pool->size(), 2u);
  ASSERT_TRUE(p.key_policies);
  EXPECT_EQ(p.key_policies->find("sk-a"), 0u);
}

TEST(ConfigReload, UnchangedLocalModelKeepsItsEngine) {
  ReloadPlan p = plan(base(), FakeFiles{});
  EXPECT_TRUE(p.problems.empty());
  EXPECT_EQ(p.kept_local, Ids{"local"});
  EXPECT_TRUE(p.load_local.empty());
  EXPECT_TRUE(p.released_local.empty());
}

TEST(ConfigReload, SettingsOutsideTheEngineApplyWithoutReloading) {
  config::Config next = base();
  next.models[0].aliases = {"default"};
  next.models[0].sampling.temperature = 0.2;
  next.models[0].chat_template = "{{ messages }}";
  next.models[0].constrain_tool_calls = false;
  next.server.max_queue = 7;  // limits are not engine settings
  ReloadPlan p = plan(next, FakeFiles{});
  EXPECT_EQ(p.kept_local, Ids{"local"});
  EXPECT_TRUE(p.load_local.empty());
}

TEST(ConfigReload, ChangedEngineInputsLoadTheModelAgainAndReleaseTheOldEngine) {
  auto expect_reloaded = [](const config::Config& next, const FakeFiles& files,
                            const std::string& what) {
    ReloadPlan p = plan(next, files);
    EXPECT_TRUE(p.problems.empty()) << what;
    EXPECT_TRUE(p.kept_local.empty()) << what;
    EXPECT_EQ(p.load_local, Ids{"local"}) << what;
    EXPECT_EQ(p.released_local, Ids{"local"}) << what;
  };
  config::Config context = base();
  context.models[0].context_length = 512;
  expect_reloaded(context, FakeFiles{}, "context_length");

  config::Config engine = base();
  engine.engine.max_num_seqs = 4;
  expect_reloaded(engine, FakeFiles{}, "global engine section");

  config::Config own_engine = base();
  own_engine.models[0].engine = config::EngineSettings{};
  own_engine.models[0].engine->kv_dtype = "int8";
  expect_reloaded(own_engine, FakeFiles{}, "the model's engine section");

  config::Config path = base();
  path.models[0].path = "/models/d.gguf";
  expect_reloaded(path, FakeFiles{}, "path");

  FakeFiles rewritten;
  rewritten.files["/models/m.gguf"].mtime_ns = 6;
  expect_reloaded(base(), rewritten, "the file rewritten in place");

  FakeFiles renamed_over;
  renamed_over.files["/models/m.gguf"].inode = 99;
  expect_reloaded(base(), renamed_over, "another file renamed over it");

  config::Config adapter = base();
  adapter.models[0].adapters.push_back({"a", "/models/a.gguf", 1.0});
  expect_reloaded(adapter, FakeFiles{}, "an adapter added");

  config::Config speculative = base();
  speculative.models[0].speculative.mode = "ngram";
  expect_reloaded(speculative, FakeFiles{}, "speculative decoding");
}

TEST(ConfigReload, ChangedAdapterOrDraftFileReloadsTheModelUsingIt) {
  config::Config c = base();
  c.models[0].adapters.push_back({"a", "/models/a.gguf", 1.0});
  config::ModelConfig draft;
  draft.id = "draft";
  draft.path = "/models/d.gguf";
  c.models.push_back(draft);
  c.models[0].draft = "draft";

  FakeFiles files;
  EXPECT_TRUE(plan(c, files, c).load_local.empty());
  files.files["/models/a.gguf"].size = 51;
  EXPECT_EQ(plan(c, files, c).load_local, Ids{"local"});

  FakeFiles draft_files;
  draft_files.files["/models/d.gguf"].mtime_ns = 9;
  // The draft model is reloaded as a model of its own, and so is the model it drafts for.
  EXPECT_EQ(plan(c, draft_files, c).load_local, (Ids{"local", "draft"}));
}

TEST(ConfigReload, AddedLocalModelIsLoadedAndRemovedOneReleased) {
  config::Config added = base();
  config::ModelConfig second = added.models[0];
  second.id = "second";
  second.context_length = 256;  // the same file with other settings: an engine of its own
  added.models.push_back(second);
  ReloadPlan p = plan(added, FakeFiles{});
  EXPECT_TRUE(p.problems.empty());
  EXPECT_EQ(p.kept_local, Ids{"local"});
  EXPECT_EQ(p.load_local, Ids{"second"});
  EXPECT_TRUE(p.released_local.empty());
  ASSERT_EQ(p.local_specs.count("second"), 1u);
  EXPECT_EQ(p.local_specs.at("second").context_length, 256);

  ReloadPlan back = plan(base(), FakeFiles{}, added);
  EXPECT_EQ(back.kept_local, Ids{"local"});
  EXPECT_TRUE(back.load_local.empty());
  EXPECT_EQ(back.released_local, Ids{"second"});

  config::Config removed = base();
  removed.models.erase(removed.models.begin());
  ReloadPlan gone = plan(removed, FakeFiles{});
  EXPECT_TRUE(gone.problems.empty());
  EXPECT_EQ(gone.released_local, Ids{"local"});
}

TEST(ConfigReload, ChangingToolsStillNeedsARestart) {
  config::Config next = base();
  next.tools.builtin = {"calculator"};
  EXPECT_EQ(plan(next, FakeFiles{}).problems.size(), 1u);
}

TEST(ConfigReload, FileIdentityTellsAFileRewrittenInPlace) {
  const std::string path = ::testing::TempDir() + "toolgate_file_identity.bin";
  { std::ofstream(path) << "one"; }
  auto first = file_identity(path);
  ASSERT_TRUE(first);
  EXPECT_EQ(file_identity(path), first);
  { std::ofstream(path) << "three"; }
  EXPECT_NE(file_identity(path), first);  // size (and mtime) differ
  std::remove(path.c_str());
  EXPECT_FALSE(file_identity(path));
}

TEST(ConfigReload, KeysOfTheSameNameKeepTheirCountersAndUnchangedBuckets) {
  KeyPolicies old({{"alice", "sk-a", {}, 60, 0, false}, {"bob", "sk-b", {}, 60, 0, false}});
  old.record_usage(0, 10, 2);
  for (int i = 0; i < 60; ++i) ASSERT_FALSE(old.admit(0, {"m"}).refusal);
  for (int i = 0; i < 60; ++i) ASSERT_FALSE(old.admit(1, {"m"}).refusal);
  // alice keeps her limit (and her empty bucket); bob's limit changes (a fresh bucket).
  KeyPolicies next({{"alice", "sk-a2", {}, 60, 0, false}, {"bob", "sk-b", {}, 120, 0, false}});
  next.carry_over_from(old);
  EXPECT_TRUE(next.admit(0, {"m"}).refusal);
  EXPECT_FALSE(next.admit(1, {"m"}).refusal);
  std::string text;
  next.render_metrics(text);
  EXPECT_NE(text.find("toolgate:api_key_prompt_tokens_total{key=\"alice\"} 10"), std::string::npos);
}

}  // namespace
}  // namespace toolgate::gateway
