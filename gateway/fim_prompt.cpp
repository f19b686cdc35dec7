#include "gateway/fim_prompt.h"

#include <algorithm>

#include "engine/engine.h"
#include "engine/tokenizer.h"
#include "gateway/options.h"

namespace toolgate::gateway {
namespace {

void append(std::vector<int32_t>& out, const std::vector<int32_t>& more) {
  out.insert(out.end(), more.begin(), more.end());
}

}  // namespace

std::optional<std::string> fim_unsupported(const ServedModel& model) {
  if (!model.engine) return "Model '" + model.id + "' does not support fill-in-the-middle.";
  if (model.engine->tokenizer().fim_tokens().usable()) return std::nullopt;
  return "Model '" + model.id +
         "' does not support fill-in-the-middle (its vocabulary has no FIM prefix/suffix/middle "
         "tokens); use a code model such as Qwen2.5-Coder.";
}

std::vector<int32_t> build_fim_prompt(const engine::Tokenizer& tok, const FimRequest& req) {
  const engine::FimTokens fim = tok.fim_tokens();
  auto text = [&](const std::string& s) { return tok.encode(s, false, false); };

  std::vector<int32_t> out;
  if (tok.bos_id() >= 0) {
    // Vocabularies that want a BOS get it first (encode adds it only when asked for).
    auto probe = tok.encode("", true, false);
    if (!probe.empty() && probe.front() == tok.bos_id()) out.push_back(tok.bos_id());
  }
  if (req.repo_level && fim.repo >= 0 && fim.file_sep >= 0) {
    out.push_back(fim.repo);
    append(out, text(req.repo_name + "\n"));
    for (const auto& f : req.extra) {
      out.push_back(fim.file_sep);
      append(out, text((f.filename.empty() ? "tmp" : f.filename) + "\n"));
      append(out, text(f.text));
    }
    out.push_back(fim.file_sep);
    append(out, text(req.filename + "\n"));
  }
  std::vector<int32_t> prefix = text(req.prefix);
  std::vector<int32_t> suffix = text(req.suffix);
  std::vector<int32_t> prompt = req.prompt.empty() ? std::vector<int32_t>{} : text(req.prompt);
  if (req.llama_cpp_limits) {
    constexpr size_t kBatch = 2048;
    const size_t prefix_take = std::min(prefix.size(), 3 * (kBatch / 4));
    const size_t suffix_budget = kBatch / 4 > 2 + prompt.size() ? kBatch / 4 - 2 - prompt.size() : 0;
    prefix.erase(prefix.begin(), prefix.end() - static_cast<std::ptrdiff_t>(prefix_take));
    suffix.resize(std::min(suffix.size(), suffix_budget));
  }
  out.push_back(fim.prefix);
  append(out, prefix);
  append(out, prompt);
  out.push_back(fim.suffix);
  append(out, suffix);
  out.push_back(fim.middle);
  return out;
}

}  // namespace toolgate::gateway
