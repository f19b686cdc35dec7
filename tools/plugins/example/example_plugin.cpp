// Example Toolgate plugin: two text tools behind the C ABI of tools/toolgate_plugin.h.
//
// Settings (all optional): {"max_text_length": N} rejects texts longer than N code points
// (default 100000), to show how per-deployment settings reach a plugin.
#include <cstdio>
#include <cstring>
#include <new>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tools/toolgate_plugin.h"

namespace {

using nlohmann::json;

struct ExampleState {
  std::size_t max_text_length = 100000;
  toolgate_plugin plugin{};
};

const toolgate_tool_spec kTools[] = {
    {"word_count", "Count the words, characters and lines of a text.",
     R"({"type":"object","properties":{"text":{"type":"string","description":"The text"}},)"
     R"("required":["text"],"additionalProperties":false})"},
    {"reverse_string", "Reverse a text character by character (Unicode-aware).",
     R"({"type":"object","properties":{"text":{"type":"string","description":"The text"}},)"
     R"("required":["text"],"additionalProperties":false})"},
};

bool is_continuation(unsigned char c) { return (c & 0xC0) == 0x80; }

// UTF-8 code points, each kept as its byte sequence.
std::vector<std::string> code_points(const std::string& s) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < s.size();) {
    std::size_t n = 1;
    while (i + n < s.size() && is_continuation(static_cast<unsigned char>(s[i + n]))) ++n;
    out.push_back(s.substr(i, n));
    i += n;
  }
  return out;
}

json word_count(const std::string& text) {
  std::size_t words = 0, lines = text.empty() ? 0 : 1;
  bool in_word = false;
  for (char c : text) {
    const bool space = c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
    if (c == '\n') ++lines;
    if (!space && !in_word) ++words;
    in_word = !space;
  }
  if (!text.empty() && text.back() == '\n') --lines;  // a final newline ends a line
  return {{"words", words}, {"characters", code_points(text).size()}, {"lines", lines}};
}

json reverse_string(const std::string& text) {
  auto cps = code_points(text);
  std::string out;
  out.reserve(text.size());
  for (auto it = cps.rbegin(); it != cps.rend(); ++it) out += *it;
  return {{"result", out}};
}

char* copy_string(const std::string& s) {
  char* out = new (std::nothrow) char[s.size() + 1];
  if (out) std::memcpy(out, s.c_str(), s.size() + 1);
  return out;
}

int example_invoke(void* state, const char* tool_name, const char* args_json, char** output) {
  *output = nullptr;
  try {
    const auto& self = *static_cast<const ExampleState*>(state);
    const json args = json::parse(args_json);
    const std::string text = args.at("text").get<std::string>();
    if (code_points(text).size() > self.max_text_length) {
      *output = copy_string("text is longer than " + std::to_string(self.max_text_length) +
                            " characters");
      return TOOLGATE_PLUGIN_ERROR;
    }
    json result;
    if (std::strcmp(tool_name, "word_count") == 0) {
      result = word_count(text);
    } else if (std::strcmp(tool_name, "reverse_string") == 0) {
      result = reverse_string(text);
    } else {
      *output = copy_string(std::string("no tool named ") + tool_name);
      return TOOLGATE_PLUGIN_ERROR;
    }
    *output = copy_string(result.dump(-1, ' ', false, json::error_handler_t::replace));
    return *output ? TOOLGATE_PLUGIN_OK : TOOLGATE_PLUGIN_ERROR;
  } catch (const std::exception& e) {  // never let an exception cross the C boundary
    *output = copy_string(e.what());
    return TOOLGATE_PLUGIN_ERROR;
  }
}

void example_free_string(void*, char* s) { delete[] s; }

void example_shutdown(void* state) { delete static_cast<ExampleState*>(state); }

}  // namespace

extern "C" TOOLGATE_PLUGIN_EXPORT const toolgate_plugin* toolgate_plugin_init(
    uint32_t host_abi_version, const char* settings_json, char* error, size_t error_size) {
  auto report = [&](const std::string& message) -> const toolgate_plugin* {
    if (error && error_size > 0) std::snprintf(error, error_size, "%s", message.c_str());
    return nullptr;
  };
  if (host_abi_version != TOOLGATE_PLUGIN_ABI_VERSION) {
    return report("example plugin needs ABI version " +
                  std::to_string(TOOLGATE_PLUGIN_ABI_VERSION));
  }
  try {
    const json settings = json::parse(settings_json ? settings_json : "{}");
    auto* state = new ExampleState;
    if (settings.is_object() && settings.contains("max_text_length")) {
      const auto& v = settings["max_text_length"];
      if (!v.is_number_unsigned()) {
        delete state;
        return report("settings.max_text_length must be a non-negative integer");
      }
      state->max_text_length = v.get<std::size_t>();
    }
    state->plugin = {TOOLGATE_PLUGIN_ABI_VERSION,
                     "example",
                     sizeof kTools / sizeof kTools[0],
                     kTools,
                     state,
                     &example_invoke,
                     &example_free_string,
                     &example_shutdown};
    return &state->plugin;
  } catch (const std::exception& e) {
    return report(std::string("bad settings: ") + e.what());
  }
}
