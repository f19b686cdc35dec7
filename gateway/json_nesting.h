#pragma once
// A bound on how deeply a request body may nest. nlohmann::json parses iteratively but copies,
// compares and prints values recursively, as does the chat template's value conversion: one
// 2 MB body of a million '[' (say, as a tool's `parameters`) overflowed the stack of the thread
// handling it and killed the server. OpenAI- and Ollama-shaped requests nest about ten levels;
// response schemas are held to server.max_schema_depth (32) further on.
#include <string_view>

namespace toolgate::gateway {

constexpr int kMaxJsonNesting = 128;

// Depth of the deepest array or object in `text`, which need not be valid JSON (brackets inside
// strings do not count). Stops counting at limit + 1.
int json_nesting_depth(std::string_view text, int limit = kMaxJsonNesting);

// True when `text` nests deeper than kMaxJsonNesting: the caller answers 400 without parsing.
inline bool json_too_deep(std::string_view text) {
  return json_nesting_depth(text) > kMaxJsonNesting;
}

}  // namespace toolgate::gateway
