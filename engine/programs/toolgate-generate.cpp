// toolgate-generate MODEL PROMPT [--max N] [--threads N] [--raw]
// Greedy generation through the engine, for debugging and quick checks. PROMPT may contain special
// tokens (<|im_start|> ...). Prints the prompt token ids, the generated ids and the text.
#include <cstdio>
#include <cstring>
#include <future>
#include <string>

#include "engine/engine.h"
#include "engine/tokenizer.h"

using namespace toolgate::engine;

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s MODEL.gguf PROMPT [--max N] [--threads N]\n", argv[0]);
    return 2;
  }
  EngineOptions o;
  o.kv_budget_bytes = 64ull << 20;
  o.max_num_seqs = 1;
  int max_tokens = 32;
  for (int i = 3; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--max")) max_tokens = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--threads")) o.threads = std::atoi(argv[i + 1]);
  }
  try {
    auto engine = Engine::create(argv[1], o);
    GenerationRequest req;
    req.prompt = engine->tokenizer().encode(argv[2], false, true);
    std::printf("prompt:");
    for (int32_t t : req.prompt) std::printf(" %d", t);
    std::printf("\ngenerated:");
    req.sampling.temperature = 0;
    req.max_tokens = max_tokens;
    std::string text;
    std::promise<FinishEvent> done;
    req.on_token = [&](TokenEvent&& ev) {
      if (ev.id >= 0) std::printf(" %d", ev.id);
      text += ev.text;
    };
    req.on_finish = [&](FinishEvent&& f) { done.set_value(f); };
    engine->submit(std::move(req));
    FinishEvent f = done.get_future().get();
    std::printf("\nfinish: %s\ntext: %s\n", finish_reason_name(f.reason), text.c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
