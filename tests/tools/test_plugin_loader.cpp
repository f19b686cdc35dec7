#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "tools/plugin_loader.h"

namespace toolgate::tools {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

std::filesystem::path fixture(const std::string& kind) {
  return std::filesystem::path(TOOLGATE_FIXTURE_PLUGIN_DIR) /
         ("libtoolgate_fixture_plugin_" + kind + ".so");
}

// The PluginLoadError message of loading `path`, or "(loaded)".
std::string load_error(ToolRegistry& registry, const std::filesystem::path& path,
                       const json& settings = json::object()) {
  try {
    load_plugin(registry, path, settings);
  } catch (const PluginLoadError& e) {
    return e.what();
  }
  return "(loaded)";
}

TEST(PluginLoader, LoadsExamplePluginAndRegistersItsTools) {
  ToolRegistry registry;
  const LoadedPlugin loaded = load_plugin(registry, TOOLGATE_EXAMPLE_PLUGIN);
  EXPECT_EQ(loaded.name, "example");
  EXPECT_EQ(loaded.tool_names, (std::vector<std::string>{"word_count", "reverse_string"}));
  ASSERT_NE(registry.find("word_count"), nullptr);
  EXPECT_EQ(registry.find("word_count")->spec().parameters["required"], json::array({"text"}));
  EXPECT_EQ(registry.openai_tools_json({"reverse_string"})[0]["function"]["description"],
            "Reverse a text character by character (Unicode-aware).");
}

TEST(PluginLoader, ExampleWordCount) {
  ToolRegistry registry;
  load_plugin(registry, TOOLGATE_EXAMPLE_PLUGIN);
  const auto r = registry.invoke("word_count", R"({"text": "the quick  brown\nfox"})", 1s);
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.value, json({{"words", 4}, {"characters", 20}, {"lines", 2}}));
}

TEST(PluginLoader, ExampleReverseStringIsUnicodeAware) {
  ToolRegistry registry;
  load_plugin(registry, TOOLGATE_EXAMPLE_PLUGIN);
  const auto r = registry.invoke("reverse_string", R"({"text": "héllo wörld"})", 1s);
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.value["result"], "dlröw olléh");
}

TEST(PluginLoader, ArgumentsAreValidatedBeforeReachingThePlugin) {
  ToolRegistry registry;
  load_plugin(registry, TOOLGATE_EXAMPLE_PLUGIN);
  const auto r = registry.invoke("word_count", R"({"text": 5})", 1s);
  EXPECT_EQ(r.error, "tool 'word_count': invalid arguments: /text: expected string, got integer");
}

TEST(PluginLoader, SettingsReachThePlugin) {
  ToolRegistry registry;
  load_plugin(registry, TOOLGATE_EXAMPLE_PLUGIN, {{"max_text_length", 5}});
  EXPECT_TRUE(registry.invoke("reverse_string", R"({"text": "short"})", 1s).ok);
  const auto r = registry.invoke("reverse_string", R"({"text": "too long"})", 1s);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.error, "tool 'reverse_string' failed: text is longer than 5 characters");
}

TEST(PluginLoader, PluginInitFailureCarriesThePluginsReason) {
  ToolRegistry registry;
  EXPECT_EQ(load_error(registry, TOOLGATE_EXAMPLE_PLUGIN, {{"max_text_length", "lots"}}),
            std::string("plugin ") + TOOLGATE_EXAMPLE_PLUGIN +
                ": initialisation failed: settings.max_text_length must be a non-negative integer");
  EXPECT_EQ(load_error(registry, fixture("init_fails")),
            "plugin " + fixture("init_fails").string() +
                ": initialisation failed: the fixture refuses to start");
  EXPECT_TRUE(registry.list().empty());
}

TEST(PluginLoader, MissingFileIsReported) {
  ToolRegistry registry;
  EXPECT_EQ(load_error(registry, "/nonexistent/libnothing.so"),
            "plugin /nonexistent/libnothing.so: file not found");
}

TEST(PluginLoader, FileThatIsNotALibraryIsReported) {
  ToolRegistry registry;
  const std::string error = load_error(registry, "/etc/hostname");
  EXPECT_EQ(error.rfind("plugin /etc/hostname: cannot load library: ", 0), 0u) << error;
}

TEST(PluginLoader, LibraryWithoutInitSymbolIsReported) {
  ToolRegistry registry;
  EXPECT_EQ(load_error(registry, fixture("no_symbol")),
            "plugin " + fixture("no_symbol").string() +
                ": not a toolgate plugin: it does not export toolgate_plugin_init");
  // A system library, found through the loader's search path.
  EXPECT_EQ(load_error(registry, "libm.so.6"),
            "plugin libm.so.6: not a toolgate plugin: it does not export toolgate_plugin_init");
}

TEST(PluginLoader, AbiVersionMismatchIsReported) {
  ToolRegistry registry;
  EXPECT_EQ(load_error(registry, fixture("bad_abi")),
            "plugin " + fixture("bad_abi").string() +
                ": ABI version mismatch: plugin implements version 999, this server implements "
                "version 1");
}

TEST(PluginLoader, InvalidSpecJsonIsReported) {
  ToolRegistry registry;
  const std::string error = load_error(registry, fixture("bad_spec"));
  EXPECT_EQ(error.rfind("plugin " + fixture("bad_spec").string() +
                            ": tool 'fixture_echo': parameters_json is not valid JSON: ",
                        0),
            0u)
      << error;
  EXPECT_TRUE(registry.list().empty());
}

TEST(PluginLoader, NameClashAddsNoToolAtAll) {
  ToolRegistry registry;
  load_plugin(registry, TOOLGATE_EXAMPLE_PLUGIN);
  EXPECT_EQ(load_error(registry, TOOLGATE_EXAMPLE_PLUGIN),
            std::string("plugin ") + TOOLGATE_EXAMPLE_PLUGIN +
                ": tool 'word_count' is already registered");
  EXPECT_EQ(registry.list().size(), 2u);
  EXPECT_TRUE(registry.invoke("word_count", R"({"text":"still works"})", 1s).ok);
}

TEST(PluginLoader, PluginErrorsBecomeErrorResults) {
  ToolRegistry registry;
  load_plugin(registry, fixture("good"));
  EXPECT_EQ(registry.invoke("fixture_echo", R"({"a":[1,2]})", 1s).value,
            json::parse(R"({"a":[1,2]})"));
  EXPECT_EQ(registry.invoke("fixture_error", "{}", 1s).error,
            "tool 'fixture_error' failed: the fixture failed on purpose");
  const auto bad = registry.invoke("fixture_bad_json", "{}", 1s);
  EXPECT_FALSE(bad.ok);
  EXPECT_EQ(bad.error.rfind("tool 'fixture_bad_json' failed: plugin returned invalid JSON: ", 0),
            0u)
      << bad.error;
}

TEST(PluginLoader, SlowPluginCallTimesOut) {
  ToolRegistry registry;
  load_plugin(registry, fixture("good"));
  EXPECT_TRUE(registry.invoke("fixture_slow", R"({"ms": 1})", 1s).ok);
  EXPECT_EQ(registry.invoke("fixture_slow", R"({"ms": 300})", 20ms).error,
            "tool 'fixture_slow' timed out after 20 ms");
  for (int i = 0; i < 100 && registry.abandoned_calls() != 0; ++i)
    std::this_thread::sleep_for(10ms);
  EXPECT_EQ(registry.abandoned_calls(), 0);
}

TEST(PluginLoader, LibraryStaysLoadedUntilAnAbandonedCallReturns) {
  // If the registry's destruction dlclose()d the library while the call still slept inside it,
  // the worker would return into unmapped code; ASan/segfault would catch that.
  {
    ToolRegistry registry;
    load_plugin(registry, fixture("good"));
    EXPECT_FALSE(registry.invoke("fixture_slow", R"({"ms": 150})", 10ms).ok);
  }
  std::this_thread::sleep_for(300ms);
  SUCCEED();
}

}  // namespace
}  // namespace toolgate::tools
