#pragma once
// Stored completions → OpenAI's chat fine-tuning format: one JSON object per line with
// `messages` (the request's messages, then the server tool rounds as assistant tool_calls +
// tool results, then the final assistant message) and `tools` where the request had them.
// The train/validation split is by a hash of the id, so the same store always splits the same.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "store/completion_store.h"

namespace toolgate::store {

struct ExportOptions {
  std::optional<std::string> model;
  Metadata metadata;             // every pair must match
  std::optional<int64_t> since;  // unix seconds
  double validation = 0.1;       // share of completions in valid.jsonl, 0..1
  std::filesystem::path out_dir;
};

struct ExportCounts {
  size_t train = 0;
  size_t valid = 0;
  size_t skipped = 0;  // no usable assistant answer (empty, or unparseable rows)
};

// One line (without the newline), or nothing when the row has no assistant answer.
std::optional<std::string> finetune_line(const StoredCompletion& c);
// true when `id` goes to the validation file for this share.
bool in_validation_split(const std::string& id, double validation);
// Writes out_dir/train.jsonl and out_dir/valid.jsonl (creating out_dir). Throws on I/O errors.
ExportCounts export_finetune(CompletionStore& store, const ExportOptions& options);

}  // namespace toolgate::store
