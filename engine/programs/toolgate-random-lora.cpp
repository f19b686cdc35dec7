// toolgate-random-lora BASE.gguf OUT.gguf [--rank R] [--type f32|f16|bf16|q8_0] [--all]
//                      [--seed N] [--b-scale X] [--alpha A]
// Writes a random LoRA adapter for BASE in llama.cpp's GGUF format (q/k/v/o; --all adds the MLP
// projections): for benchmarks and cross-checks against llama.cpp (llama-perplexity --lora),
// which need an adapter of the right shapes but not a trained one.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "engine/gguf.h"
#include "engine/model/hparams.h"
#include "engine/model/lora_random.h"

using namespace toolgate::engine;

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s BASE.gguf OUT.gguf [--rank R] [--type f32|f16|bf16|q8_0] [--all] [--seed N] "
                 "[--b-scale X] [--alpha A]\n", argv[0]);
    return 2;
  }
  RandomLoraSpec spec;
  for (int i = 3; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--all") {
      spec.targets = {LoraTarget::Q, LoraTarget::K, LoraTarget::V, LoraTarget::O,
                      LoraTarget::Gate, LoraTarget::Up, LoraTarget::Down};
      continue;
    }
    if (i + 1 >= argc) {
      std::fprintf(stderr, "%s needs a value\n", a.c_str());
      return 2;
    }
    const std::string v = argv[++i];
    if (a == "--rank") spec.rank = std::atoi(v.c_str());
    else if (a == "--seed") spec.seed = std::strtoull(v.c_str(), nullptr, 10);
    else if (a == "--b-scale") spec.b_scale = std::strtof(v.c_str(), nullptr);
    else if (a == "--alpha") spec.alpha = std::strtof(v.c_str(), nullptr);
    else if (a == "--type") {
      if (v == "f32") spec.type = GgmlType::F32;
      else if (v == "f16") spec.type = GgmlType::F16;
      else if (v == "bf16") spec.type = GgmlType::BF16;
      else if (v == "q8_0") spec.type = GgmlType::Q8_0;
      else {
        std::fprintf(stderr, "unknown type %s\n", v.c_str());
        return 2;
      }
    } else {
      std::fprintf(stderr, "unknown flag %s\n", a.c_str());
      return 2;
    }
  }
  try {
    auto base = GgufFile::open(argv[1]);
    make_random_lora(HParams::from_gguf(*base), spec).write(argv[2]);
    std::printf("wrote %s\n", argv[2]);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
