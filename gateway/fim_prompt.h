#pragma once
// Fill-in-the-middle prompts from a code model's FIM marker tokens (engine::FimTokens), in the
// prefix-suffix-middle order Qwen2.5-Coder and StarCoder were trained on:
//   <|fim_prefix|>{prefix}<|fim_suffix|>{suffix}<|fim_middle|>
// and the repo-level form llama.cpp's /infill sends (Qwen2.5-Coder report, arXiv 2409.12186):
//   <|repo_name|>{repo}\n<|file_sep|>{path}\n{content}...<|file_sep|>{path}\n<|fim_prefix|>...
// User text is tokenized as plain text: markup typed in the code never becomes a marker token.
// The model stops at its end-of-generation tokens, which include <|endoftext|>, <|fim_pad|>,
// <|repo_name|> and <|file_sep|> (engine/tokenizer/vocabulary.cpp, as llama.cpp).
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace toolgate::engine {
class Tokenizer;
}

namespace toolgate::gateway {

struct ServedModel;

struct FimFile {
  std::string filename;
  std::string text;
};

struct FimRequest {
  std::string prefix;
  std::string suffix;
  std::string prompt;  // llama.cpp /infill: text typed after the prefix, before the cursor
  // Repo-level context (only when the model has <|repo_name|>/<|file_sep|> markers).
  bool repo_level = false;
  std::string repo_name = "myproject";
  std::vector<FimFile> extra;
  std::string filename = "filename";
  // llama.cpp's /infill budget (n_batch 2048): the last 1536 prefix tokens and the first
  // 510 - prompt suffix tokens. Off: everything is kept (the context length still applies).
  bool llama_cpp_limits = false;
};

// A 400 message naming the model when it has no FIM markers; nothing when it can fill in.
std::optional<std::string> fim_unsupported(const ServedModel& model);

std::vector<int32_t> build_fim_prompt(const engine::Tokenizer& tokenizer, const FimRequest& request);

}  // namespace toolgate::gateway
