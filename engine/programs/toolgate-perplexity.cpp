// toolgate-perplexity MODEL TEXT [--ctx N] [--threads N] [--kv f16|int8|int4] [--lora ADAPTER.gguf]
//                     [--lora-scale S] [--second-half]
// Prints the model's perplexity over the text file as JSON. --second-half scores as llama.cpp's
// llama-perplexity does (whole chunks, second half of each), for cross-checks against it.
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>

#include "engine/perplexity.h"

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s MODEL.gguf TEXT.txt [--ctx N] [--threads N] [--kv f16|int8|int4] [--lora A.gguf] [--lora-scale S] [--second-half]\n", argv[0]);
    return 2;
  }
  toolgate::engine::PerplexityOptions o;
  for (int i = 3; i < argc; i += 2) {
    if (!std::strcmp(argv[i], "--second-half")) {
      o.second_half_only = true;
      --i;
      continue;
    }
    if (i + 1 >= argc) break;
    if (!std::strcmp(argv[i], "--lora")) o.lora = argv[i + 1];
    else if (!std::strcmp(argv[i], "--lora-scale")) o.lora_scale = static_cast<float>(std::atof(argv[i + 1]));
    else if (!std::strcmp(argv[i], "--ctx")) o.n_ctx = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--threads")) o.threads = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--kv")) {
      auto d = toolgate::engine::parse_kv_dtype(argv[i + 1]);
      if (!d) {
        std::fprintf(stderr, "--kv: expected f16, int8 or int4, got '%s'\n", argv[i + 1]);
        return 2;
      }
      o.kv_dtype = *d;
    }
  }
  std::ifstream in(argv[2]);
  if (!in) {
    std::fprintf(stderr, "cannot read %s\n", argv[2]);
    return 1;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  try {
    auto r = toolgate::engine::compute_perplexity(argv[1], ss.str(), o);
    std::printf("{\"model\": \"%s\", \"kv\": \"%s\", \"perplexity\": %.4f, \"tokens\": %d, \"chunks\": %d, \"ctx\": %d, \"seconds\": %.2f}\n",
                argv[1], toolgate::engine::kv_dtype_name(o.kv_dtype), r.perplexity, r.tokens_scored, r.chunks, o.n_ctx, r.seconds);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
