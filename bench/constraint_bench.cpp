// Per-token cost of the tool-call constraint (engine/constrained/) on a real vocabulary.
// Replays realistic replies token by token and times, at every position:
//   check: allows() on the token that comes next (the engine's fast path), and
//   mask:  allowed_tokens(), the full vocabulary mask the engine needs when a pick is refused,
// grouped by where the reply stands (free text, inside a call's string, call structure).
// Also the one-off cost of indexing the vocabulary. Prints one JSON object.
// Usage: constraint_bench [model.gguf]   (default: models/Qwen2.5-Coder-0.5B-Instruct-Q4_K_M.gguf)
#include <chrono>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/constrained/reply_constraint.h"
#include "engine/gguf.h"
#include "engine/tokenizer.h"
#include "engine/tool_dialect.h"

using namespace toolgate::engine;
using namespace toolgate::engine::constrained;
using Clock = std::chrono::steady_clock;

namespace {

double ns_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::nano>(Clock::now() - t0).count();
}

const char* kTools = R"([
  {"name": "get_weather", "parameters": {"type": "object", "properties": {
     "city": {"type": "string"}, "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
     "days": {"type": "integer"}}, "required": ["city"]}},
  {"name": "send_email", "parameters": {"type": "object", "properties": {
     "to": {"type": "string"}, "subject": {"type": "string"}, "body": {"type": "string"}},
     "required": ["to", "subject", "body"]}},
  {"name": "convert_units", "parameters": {"type": "object", "properties": {
     "value": {"type": "number"}, "from_unit": {"type": "string"}, "to_unit": {"type": "string"}},
     "required": ["value", "from_unit", "to_unit"]}}
])";

struct Stats {
  double check_ns = 0, mask_ns = 0;
  int n = 0;
  size_t allowed = 0;
};

}  // namespace

int main(int argc, char** argv) {
  std::string path = argc > 1 ? argv[1] : "models/Qwen2.5-Coder-0.5B-Instruct-Q4_K_M.gguf";
  auto file = GgufFile::open(path);
  auto tok = Tokenizer::from_gguf(*file);
  auto t0 = Clock::now();
  auto index = std::make_shared<TokenByteIndex>(*tok);
  const double index_ms = ns_since(t0) / 1e6;

  auto dialect = make_tool_dialect(file->get_string("tokenizer.chat_template").value_or(""),
                                   file->get_string("general.architecture").value_or(""));
  std::vector<ToolSpec> tools;
  // ordered_json: properties keep their declared order, which the constraint enforces.
  for (const auto& t : nlohmann::ordered_json::parse(kTools))
    tools.push_back({t["name"].get<std::string>(), t["parameters"]});

  struct Replay {
    ConstraintMode mode;
    std::string already;  // forced prefix
    std::string text;     // the reply
  };
  const std::string prefix = dialect->forced_call_prefix(std::nullopt);
  const std::vector<Replay> replays = {
      {ConstraintMode::Forced, prefix,
       "get_weather\", \"arguments\": {\"city\": \"San Francisco\", \"unit\": \"celsius\", "
       "\"days\": 3}}\n</tool_call>"},
      {ConstraintMode::Forced, prefix,
       "send_email\", \"arguments\": {\"to\": \"bob@example.com\", \"subject\": \"Lunch "
       "tomorrow\", \"body\": \"Hi Bob, I will be about ten minutes late for lunch tomorrow; "
       "please order without me. See you there, Alice\"}}\n</tool_call>"},
      {ConstraintMode::Lazy, "",
       "Sure, let me convert that for you.\n<tool_call>\n{\"name\": \"convert_units\", "
       "\"arguments\": {\"value\": 10.5, \"from_unit\": \"km\", \"to_unit\": \"mi\"}}\n"
       "</tool_call>"},
      {ConstraintMode::Lazy, "",
       "The capital of France is Paris. It has been the country's capital since the 10th "
       "century and is known for the Eiffel Tower, the Louvre and its cafés."},
  };

  std::map<std::string, Stats> by_place;
  Stats all;
  const int reps = 3;
  for (const auto& r : replays) {
    auto grammar = std::make_shared<ToolCallGrammar>(
        ToolCallGrammarOptions{dialect->call_format(), tools, std::nullopt, r.mode, true});
    auto ids = tok->encode(r.text, false, true);
    ReplyConstraint c(grammar, index, r.already);
    for (int32_t id : ids) {
      const std::string place = c.state().in_free_text()      ? "free_text"
                                : c.state().in_plain_string() ? "call_string"
                                                              : "call_structure";
      auto t1 = Clock::now();
      bool ok = true;
      for (int k = 0; k < reps; ++k) ok = c.allows(id);
      const double check = ns_since(t1) / reps;
      auto t2 = Clock::now();
      size_t allowed = 0;
      for (int k = 0; k < reps; ++k) {
        const auto& m = c.allowed_tokens();
        allowed = static_cast<size_t>(std::count(m.begin(), m.end(), 1));
      }
      const double mask = ns_since(t2) / reps;
      if (!ok) {
        std::fprintf(stderr, "replay refused token %d '%s'\n", id, tok->token_to_piece(id).c_str());
        return 1;
      }
      for (Stats* s : {&by_place[place], &all}) {
        s->check_ns += check;
        s->mask_ns += mask;
        s->allowed += allowed;
        ++s->n;
      }
      c.accept(id);
    }
  }
  nlohmann::ordered_json out;
  out["model"] = path;
  out["n_vocab"] = tok->n_vocab();
  out["index_build_ms"] = std::round(index_ms * 10) / 10;
  out["trie_nodes_all"] = index->all_text().size();
  out["trie_nodes_not_string_safe"] = index->not_string_safe().size();
  out["tokens_replayed"] = all.n;
  auto fill = [](const Stats& s) {
    nlohmann::ordered_json j;
    j["tokens"] = s.n;
    j["check_ns_per_token"] = std::round(s.check_ns / s.n);
    j["mask_ns_per_token"] = std::round(s.mask_ns / s.n);
    j["mean_allowed_tokens"] = std::round(static_cast<double>(s.allowed) / s.n);
    return j;
  };
  out["all"] = fill(all);
  for (const auto& [place, s] : by_place) out[place] = fill(s);
  std::printf("%s\n", out.dump(2).c_str());
}
