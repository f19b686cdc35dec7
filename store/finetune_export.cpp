#include "store/finetune_export.h"

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

namespace toolgate::store {

using nlohmann::ordered_json;

namespace {

// FNV-1a, then MurmurHash3's fmix64: FNV alone leaves the top bits of ids that differ only in
// their last characters badly mixed (a 10% split came out near 4.5%).
uint64_t id_hash(const std::string& s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ull;
  h ^= h >> 33;
  return h;
}

}  // namespace

bool in_validation_split(const std::string& id, double validation) {
  if (validation <= 0) return false;
  if (validation >= 1) return true;
  // The top 53 bits as a fraction in [0, 1).
  const double x = static_cast<double>(id_hash(id) >> 11) / static_cast<double>(1ull << 53);
  return x < validation;
}

std::optional<std::string> finetune_line(const StoredCompletion& c) {
  auto request = ordered_json::parse(c.request_json, nullptr, false);
  auto response = ordered_json::parse(c.response_json, nullptr, false);
  if (!request.is_object() || !response.is_object()) return std::nullopt;
  auto messages = request.value("messages", ordered_json::array());
  if (!messages.is_array()) return std::nullopt;
  const auto& choices = response.value("choices", ordered_json::array());
  if (!choices.is_array() || choices.empty() || !choices[0].is_object()) return std::nullopt;
  const auto& message = choices[0].value("message", ordered_json::object());

  // Server tool rounds, as the model lived them: its calls, then what the tools returned.
  if (auto runs = message.find("toolgate_tool_runs"); runs != message.end() && runs->is_array()) {
    std::map<int, std::vector<ordered_json>> by_round;
    for (const auto& r : *runs) by_round[r.value("round", 1)].push_back(r);
    for (const auto& [_, round] : by_round) {
      ordered_json calls = ordered_json::array();
      for (const auto& r : round)
        calls.push_back({{"id", r.value("id", "")},
                         {"type", "function"},
                         {"function", r.value("function", ordered_json::object())}});
      messages.push_back({{"role", "assistant"}, {"content", nullptr}, {"tool_calls", calls}});
      for (const auto& r : round)
        messages.push_back({{"role", "tool"},
                            {"tool_call_id", r.value("id", "")},
                            {"content", r.value("output", "")}});
    }
  }
  ordered_json answer = {{"role", "assistant"}};
  const auto content = message.find("content");
  const bool has_content =
      content != message.end() && content->is_string() && !content->get<std::string>().empty();
  const auto calls = message.find("tool_calls");
  const bool has_calls = calls != message.end() && calls->is_array() && !calls->empty();
  if (!has_content && !has_calls) return std::nullopt;
  answer["content"] = has_content ? *content : ordered_json(nullptr);
  if (has_calls) answer["tool_calls"] = *calls;
  messages.push_back(std::move(answer));

  ordered_json line = {{"messages", std::move(messages)}};
  if (auto tools = request.find("tools");
      tools != request.end() && tools->is_array() && !tools->empty())
    line["tools"] = *tools;
  return line.dump(-1, ' ', false, ordered_json::error_handler_t::replace);
}

ExportCounts export_finetune(CompletionStore& store, const ExportOptions& options) {
  std::filesystem::create_directories(options.out_dir);
  std::ofstream train(options.out_dir / "train.jsonl", std::ios::binary | std::ios::trunc);
  std::ofstream valid(options.out_dir / "valid.jsonl", std::ios::binary | std::ios::trunc);
  if (!train || !valid) throw std::runtime_error("cannot write to " + options.out_dir.string());
  ListQuery q;
  q.model = options.model;
  q.metadata = options.metadata;
  q.since = options.since;
  ExportCounts counts;
  store.for_each(q, [&](const StoredCompletion& c) {
    auto line = finetune_line(c);
    if (!line) {
      ++counts.skipped;
      return;
    }
    if (in_validation_split(c.id, options.validation)) {
      valid << *line << '\n';
      ++counts.valid;
    } else {
      train << *line << '\n';
      ++counts.train;
    }
  });
  train.flush();
  valid.flush();
  if (!train || !valid)
    throw std::runtime_error("writing to " + options.out_dir.string() + " failed");
  return counts;
}

}  // namespace toolgate::store
