// Each tool-call dialect's incremental parser (hermes, llama3_json, generic) on arbitrary model
// output fed in random chunks. Options byte: dialect (value % 3); the chunk sizes come from a
// generator seeded by the options byte. The streaming contract (engine/tool_dialect.h) is
// checked: any split gives the same content and the same calls as feeding the text at once,
// and every call's arguments is a JSON object text.
#include <nlohmann/json.hpp>

#include "engine/tool_dialect.h"
#include "fuzz_input.h"

using namespace toolgate;
using engine::ParserOutput;

namespace {

struct Parsed {
  std::string content;
  std::vector<engine::ToolCallDelta> calls;
};

void append(Parsed& p, ParserOutput out) {
  p.content += out.content;
  for (auto& c : out.tool_calls) p.calls.push_back(std::move(c));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const char* kDialects[] = {"hermes", "llama3_json", "generic"};
  static std::unique_ptr<engine::ToolDialect> dialects[3] = {
      engine::make_tool_dialect("", "", kDialects[0]), engine::make_tool_dialect("", "", kDialects[1]),
      engine::make_tool_dialect("", "", kDialects[2])};
  if (size == 0) return 0;
  const engine::ToolDialect& dialect = *dialects[data[0] % 3];
  std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);

  Parsed whole, chunked;
  auto a = dialect.make_parser();
  append(whole, a->feed(text));
  append(whole, a->finish());

  auto b = dialect.make_parser();
  uint32_t state = data[0] * 2654435761u + 1;
  for (size_t at = 0; at < text.size();) {
    state = state * 1664525u + 1013904223u;
    size_t n = std::min<size_t>(text.size() - at, 1 + (state >> 24) % 8);
    append(chunked, b->feed(text.substr(at, n)));
    at += n;
  }
  append(chunked, b->finish());

  if (whole.content != chunked.content) fuzz::invariant_failed("content depends on the chunking");
  if (whole.calls.size() != chunked.calls.size()) fuzz::invariant_failed("calls depend on the chunking");
  for (size_t i = 0; i < whole.calls.size(); ++i) {
    const auto &x = whole.calls[i], &y = chunked.calls[i];
    if (x.index != y.index || x.name != y.name || x.arguments != y.arguments || x.id_hint != y.id_hint)
      fuzz::invariant_failed("a call depends on the chunking");
    if (!nlohmann::json::accept(x.arguments)) fuzz::invariant_failed("arguments is not JSON");
  }
  return 0;
}
