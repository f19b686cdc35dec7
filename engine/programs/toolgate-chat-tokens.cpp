// toolgate-chat-tokens MODEL.gguf IN.jsonl OUT.jsonl
// Turns chat fine-tuning examples (OpenAI's format: one {"messages": [...]} per line, the last
// message the assistant's answer) into the token ids a trainer needs, rendered with the model's
// own chat template and tokenizer exactly as the server renders a request:
//   {"prompt": [ids up to and including the assistant header], "completion": [the answer's ids,
//    end-of-turn included]}
// so a LoRA trained on them sees the same tokens it will be served with (scripts/train-lora).
#include <cstdio>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "engine/chat_template.h"
#include "engine/gguf.h"
#include "engine/tokenizer.h"

using namespace toolgate::engine;
using nlohmann::json;

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: %s MODEL.gguf IN.jsonl OUT.jsonl\n", argv[0]);
    return 2;
  }
  try {
    auto file = GgufFile::open(argv[1]);
    auto tok = Tokenizer::from_gguf(*file);
    ChatTemplateOptions opts;
    if (tok->bos_id() >= 0) opts.bos_token = tok->token_text(tok->bos_id());
    if (tok->eos_id() >= 0) opts.eos_token = tok->token_text(tok->eos_id());
    auto tmpl = ChatTemplate::create(file->get_string("tokenizer.chat_template").value_or(""), opts);
    std::ifstream in(argv[2]);
    std::ofstream out(argv[3]);
    if (!in || !out) throw std::runtime_error("cannot open the input or output file");
    std::string line;
    int n = 0;
    while (std::getline(in, line)) {
      if (line.empty()) continue;
      ++n;
      const json ex = json::parse(line);
      const json& msgs = ex.at("messages");
      if (msgs.empty() || msgs.back().at("role") != "assistant")
        throw std::runtime_error("line " + std::to_string(n) + ": the last message must be the assistant's");
      json head = msgs;
      head.erase(head.size() - 1);
      const auto prompt = tok->encode(tmpl->render(head, nullptr, true), true, true);
      const auto full = tok->encode(tmpl->render(msgs, nullptr, false), true, true);
      if (full.size() <= prompt.size() || !std::equal(prompt.begin(), prompt.end(), full.begin()))
        throw std::runtime_error("line " + std::to_string(n) + ": the prompt's tokens are not a prefix of the conversation's");
      json o;
      o["prompt"] = prompt;
      o["completion"] = std::vector<int32_t>(full.begin() + static_cast<long>(prompt.size()), full.end());
      out << o.dump() << "\n";
    }
    std::fprintf(stderr, "%d examples\n", n);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
