// Process isolation: the fixture plugins run in real `toolgate --plugin-host` processes (the
// built server binary, fork + exec). A crash, a hang, a CPU or memory blow-up becomes an error
// result, and the next call is served by a fresh host.
#include <gtest/gtest.h>
#include <unistd.h>

#include "tools/isolated_plugin.h"

// Under AddressSanitizer or ThreadSanitizer the host binary reserves terabytes of shadow address
// space (so no RLIMIT_AS can be set: TSan's runtime cannot even start under one), and the
// sanitizer reports a segfault itself, exiting with an error code instead of dying by signal 11.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define TOOLGATE_TEST_SHADOW_MEMORY 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define TOOLGATE_TEST_SHADOW_MEMORY 1
#endif
#endif
#ifndef TOOLGATE_TEST_SHADOW_MEMORY
#define TOOLGATE_TEST_SHADOW_MEMORY 0
#endif

namespace toolgate::tools {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

std::filesystem::path fixture(const std::string& kind) {
  return std::filesystem::path(TOOLGATE_FIXTURE_PLUGIN_DIR) /
         ("libtoolgate_fixture_plugin_" + kind + ".so");
}

PluginIsolation isolation() {
  PluginIsolation iso;
  iso.host_binary = TOOLGATE_SERVER_BIN;
  iso.first_backoff = 0ms;  // restart at once: the back-off is not what these tests are about
  iso.memory_bytes = TOOLGATE_TEST_SHADOW_MEMORY ? 0 : 512ull << 20;
  return iso;
}

std::string load_error(ToolRegistry& registry, const std::filesystem::path& path,
                       const PluginIsolation& iso) {
  try {
    load_isolated_plugin(registry, path, json::object(), iso);
  } catch (const PluginLoadError& e) {
    return e.what();
  }
  return "(loaded)";
}

// The registry's own deadline is off (0): the isolation's call timeout is what is tested.
ToolResult call(const ToolRegistry& registry, const std::string& tool, json args = json::object()) {
  return registry.invoke(tool, args, 0ms);
}

void expect_echo_works(const ToolRegistry& registry) {
  ToolResult r = call(registry, "fixture_echo", {{"n", 7}});
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.value, (json{{"n", 7}}));
}

TEST(IsolatedPlugin, ToolsComeFromTheHostAndCallsReachIt) {
  ToolRegistry registry;
  LoadedPlugin loaded =
      load_isolated_plugin(registry, fixture("good"), json::object(), isolation());
  EXPECT_EQ(loaded.name, "fixture");
  EXPECT_EQ(loaded.tool_names, (std::vector<std::string>{"fixture_echo", "fixture_error",
                                                         "fixture_bad_json", "fixture_slow"}));
  expect_echo_works(registry);
  ToolResult err = call(registry, "fixture_error");
  EXPECT_FALSE(err.ok);
  EXPECT_NE(err.error.find("failed on purpose"), std::string::npos) << err.error;
  // Arguments are checked against the schema in the server, before the host sees them.
  EXPECT_FALSE(call(registry, "fixture_slow", {{"ms", "soon"}}).ok);
}

TEST(IsolatedPlugin, LoadErrorsInTheHostNameTheFile) {
  ToolRegistry registry;
  std::string error = load_error(registry, fixture("init_fails"), isolation());
  EXPECT_NE(error.find("refuses to start"), std::string::npos) << error;
  EXPECT_NE(error.find("init_fails"), std::string::npos) << error;
  EXPECT_FALSE(registry.contains("fixture_echo"));
}

TEST(IsolatedPlugin, AHostThatCannotStartIsALoadError) {
  ToolRegistry registry;
  PluginIsolation iso = isolation();
  iso.host_binary = "/nonexistent/toolgate";
  std::string error = load_error(registry, fixture("good"), iso);
  EXPECT_NE(error.find("exit code 127"), std::string::npos) << error;
}

// The helper holds only stdin/stdout/stderr and its socket (none of the server's sockets), runs
// with no new privileges, and under the address-space limit.
TEST(IsolatedPlugin, TheHostGetsOnlyItsSocketAndItsLimits) {
  int stray = ::dup(2);  // an fd without close-on-exec, like Asio's sockets
  ToolRegistry registry;
  load_isolated_plugin(registry, fixture("misbehaving"), json::object(), isolation());
  ToolResult r = call(registry, "fixture_self");
  ::close(stray);
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.value["fds"], 4) << r.value;
  EXPECT_EQ(r.value["no_new_privs"], 1) << r.value;
  if (!TOOLGATE_TEST_SHADOW_MEMORY) {
    EXPECT_EQ(r.value["as_limit"], 512.0 * (1 << 20)) << r.value;
  }
}

TEST(IsolatedPlugin, ASegfaultIsAnErrorResultAndTheHostIsRestarted) {
  ToolRegistry registry;
  load_isolated_plugin(registry, fixture("misbehaving"), json::object(), isolation());
  expect_echo_works(registry);
  ToolResult r = call(registry, "fixture_crash");
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.error.find("crashed while running 'fixture_crash'"), std::string::npos) << r.error;
  if (!TOOLGATE_TEST_SHADOW_MEMORY) {
    EXPECT_NE(r.error.find("signal 11"), std::string::npos) << r.error;
  }
  expect_echo_works(registry);
  EXPECT_FALSE(call(registry, "fixture_crash").ok);  // and again
  expect_echo_works(registry);
}

TEST(IsolatedPlugin, AHangIsKilledAtTheCallTimeout) {
  ToolRegistry registry;
  PluginIsolation iso = isolation();
  iso.call_timeout = 500ms;
  load_isolated_plugin(registry, fixture("misbehaving"), json::object(), iso);
  ToolResult r = call(registry, "fixture_spin");
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.error.find("did not answer 'fixture_spin' within 500 ms"), std::string::npos)
      << r.error;
  expect_echo_works(registry);
}

TEST(IsolatedPlugin, TheCpuLimitEndsASpinningHost) {
  ToolRegistry registry;
  PluginIsolation iso = isolation();
  iso.cpu_seconds = 1;
  iso.call_timeout = 60s;  // far past one CPU second, even on a loaded machine
  load_isolated_plugin(registry, fixture("misbehaving"), json::object(), iso);
  ToolResult r = call(registry, "fixture_spin");
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.error.find("CPU limit of 1 s"), std::string::npos) << r.error;
  expect_echo_works(registry);
}

TEST(IsolatedPlugin, MemoryExhaustionEndsOnlyTheHost) {
  if (TOOLGATE_TEST_SHADOW_MEMORY) GTEST_SKIP() << "no address-space limit under a sanitizer";
  ToolRegistry registry;
  PluginIsolation iso = isolation();
  iso.memory_bytes = 256ull << 20;
  iso.call_timeout = 60s;
  load_isolated_plugin(registry, fixture("misbehaving"), json::object(), iso);
  ToolResult r = call(registry, "fixture_hog");
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.error.find("crashed while running 'fixture_hog'"), std::string::npos) << r.error;
  expect_echo_works(registry);
}

TEST(IsolatedPlugin, ToolNamesMayNotClashWithRegisteredOnes) {
  ToolRegistry registry;
  load_isolated_plugin(registry, fixture("good"), json::object(), isolation());
  std::string error = load_error(registry, fixture("misbehaving"), isolation());
  EXPECT_NE(error.find("'fixture_echo' is already registered"), std::string::npos) << error;
  EXPECT_FALSE(registry.contains("fixture_crash"));
}

}  // namespace
}  // namespace toolgate::tools
