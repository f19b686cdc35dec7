#include <gtest/gtest.h>

#include <map>
#include <string>

#include "config/env_expansion.h"

namespace toolgate::config {
namespace {

EnvLookup fake_env(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const char* name) -> const char* {
    const auto it = vars.find(name);
    return it == vars.end() ? nullptr : it->second.c_str();
  };
}

TEST(EnvExpansion, ReplacesVariablesAnywhereInTheText) {
  const auto env = fake_env({{"KEY", "sk-123"}, {"HOST", "example.com"}, {"EMPTY", ""}});
  EXPECT_EQ(expand_env("${KEY}", env).value, "sk-123");
  EXPECT_EQ(expand_env("https://${HOST}:${HOST}/v1", env).value,
            "https://example.com:example.com/v1");
  EXPECT_EQ(expand_env("plain text, $HOME and {braces}", env).value,
            "plain text, $HOME and {braces}");
  EXPECT_EQ(expand_env("[${EMPTY}]", env).value, "[]");
  EXPECT_TRUE(expand_env("[${EMPTY}]", env).errors.empty());
}

TEST(EnvExpansion, FallbackAppliesWhenUnsetOrEmpty) {
  const auto env = fake_env({{"SET", "x"}, {"EMPTY", ""}});
  EXPECT_EQ(expand_env("${SET:-d}", env).value, "x");
  EXPECT_EQ(expand_env("${EMPTY:-d}", env).value, "d");
  EXPECT_EQ(expand_env("${UNSET:-8080}", env).value, "8080");
  EXPECT_EQ(expand_env("${UNSET:-}", env).value, "");
  EXPECT_TRUE(expand_env("${UNSET:-8080}", env).errors.empty());
}

TEST(EnvExpansion, UnsetVariableIsAnErrorNamingIt) {
  const auto result = expand_env("${A}-${B}", fake_env({{"A", "a"}}));
  ASSERT_EQ(result.errors.size(), 1u);
  EXPECT_EQ(result.errors[0], "environment variable 'B' is not set");
}

TEST(EnvExpansion, MalformedReferencesAreErrors) {
  const auto env = fake_env({});
  EXPECT_EQ(
      expand_env("${OOPS", env).errors,
      std::vector<std::string>{"unterminated '${' (missing '}'); write $${ for a literal ${"});
  EXPECT_EQ(expand_env("${1BAD}", env).errors,
            std::vector<std::string>{"invalid environment variable name '1BAD' in '${1BAD}'"});
  EXPECT_EQ(expand_env("${}", env).errors,
            std::vector<std::string>{"invalid environment variable name '' in '${}'"});
}

TEST(EnvExpansion, DoubleDollarIsALiteral) {
  EXPECT_EQ(expand_env("$${NOT_A_VAR}", fake_env({})).value, "${NOT_A_VAR}");
  for (const char* text : {"${X}", "$${X}", "a$b", "$$", "end$", "$${", "x${y}z${"}) {
    const auto round = expand_env(escape_env(text), fake_env({}));
    EXPECT_TRUE(round.errors.empty()) << text;
    EXPECT_EQ(round.value, text);
  }
}

TEST(EnvExpansion, ReadsTheProcessEnvironmentByDefault) {
  ::setenv("TOOLGATE_TEST_ENV_DEFAULT_LOOKUP", "from-env", 1);
  EXPECT_EQ(expand_env("${TOOLGATE_TEST_ENV_DEFAULT_LOOKUP}").value, "from-env");
  ::unsetenv("TOOLGATE_TEST_ENV_DEFAULT_LOOKUP");
}

}  // namespace
}  // namespace toolgate::config
