// lora_bench [--model M.gguf] [--threads N] [--steps N] [--rounds N] [--rank R] [--batch B]
// Decode speed of a batch with LoRA adapters (random ones of rank R on q/k/v/o, the shape
// scripts/train-lora trains), relative to the base alone. Runs the Transformer directly: each
// step decodes one token for each of the B sequences (B = 16), with
//   base: no adapter, one: every sequence under the same adapter, four: sequences spread over
//   four different adapters (a mixed batch: one low-rank product per sequence either way).
// The three configurations alternate in rounds so that load changes on a shared machine hit
// all of them alike; the median over rounds is reported with the 1-minute load average, and the
// median of per-round ratios to the base (paired, the more robust figure on a loaded machine).
// Prints JSON lines: {"bench":"lora_decode", ...} per configuration and {"bench":"lora_memory"}.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <numeric>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench_stats.h"
#include "engine/gguf.h"
#include "engine/model/lora_adapter.h"
#include "engine/model/lora_random.h"
#include "engine/model/transformer.h"
#include "engine/model/weights.h"

using namespace toolgate::engine;
using Clock = std::chrono::steady_clock;

int main(int argc, char** argv) {
  std::string model = "models/SmolLM2-135M-Instruct-Q4_1.gguf";
  int threads = 2, steps = 32, rounds = 5, rank = 8, B = 16;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--model")) model = argv[i + 1];
    else if (!std::strcmp(argv[i], "--threads")) threads = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--steps")) steps = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--rounds")) rounds = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--rank")) rank = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--batch")) B = std::atoi(argv[i + 1]);
  }
  auto file = GgufFile::open(model);
  const HParams hp = HParams::from_gguf(*file);
  const Weights w = Weights::from_gguf(*file, hp);
  std::vector<std::vector<uint8_t>> images;
  std::vector<std::unique_ptr<GgufFile>> files;
  std::vector<LoraAdapter> adapters;
  for (int a = 0; a < 4; ++a) {
    RandomLoraSpec spec;
    spec.rank = rank;
    spec.seed = static_cast<uint64_t>(a + 1);
    spec.type = GgmlType::F16;
    images.push_back(make_random_lora(hp, spec).to_bytes());
    files.push_back(GgufFile::parse(images.back(), "random-" + std::to_string(a)));
    adapters.push_back(LoraAdapter::from_gguf(*files.back(), hp, *file, "r" + std::to_string(a), 1.0f));
  }

  ThreadPool pool(threads);
  const int prompt = 32, ctx = prompt + steps + 1, BS = 16;
  const int blocks_per_seq = (ctx + BS - 1) / BS;
  KvStore kv(hp, blocks_per_seq * B, BS, KvDtype::F16);
  Transformer tf(hp, w, pool, std::max(B, prompt), B, ctx);
  std::vector<std::vector<int>> tables(static_cast<size_t>(B));
  for (int s = 0; s < B; ++s) {
    tables[s].resize(blocks_per_seq);
    std::iota(tables[s].begin(), tables[s].end(), s * blocks_per_seq);
  }
  std::vector<std::vector<int32_t>> tokens(static_cast<size_t>(B));
  for (int s = 0; s < B; ++s)
    for (int t = 0; t < ctx; ++t) tokens[s].push_back(1000 + (s * 131 + t * 17) % 20000);
  std::vector<float> logits(static_cast<size_t>(B) * hp.n_vocab);

  struct Config {
    const char* name;
    int n_adapters;
  };
  const Config configs[] = {{"base", 0}, {"one_adapter", 1}, {"four_adapters", 4}};
  std::vector<std::vector<double>> tps(3);
  auto adapter_of = [&](int n_adapters, int s) -> const LoraAdapter* {
    return n_adapters == 0 ? nullptr : &adapters[static_cast<size_t>(s % n_adapters)];
  };
  const double load_before = toolgate::bench::load_average();
  for (int r = 0; r < rounds; ++r) {
    for (int c = 0; c < 3; ++c) {
      // Prefill each sequence's prompt (one at a time), then time the batched decode steps.
      for (int s = 0; s < B; ++s) {
        BatchSeq b{tokens[s].data(), prompt, 0, tables[s], BatchSeq::Logits::None, adapter_of(configs[c].n_adapters, s)};
        tf.forward(std::span<const BatchSeq>(&b, 1), kv, nullptr);
      }
      std::vector<BatchSeq> batch(static_cast<size_t>(B));
      const auto t0 = Clock::now();
      for (int step = 0; step < steps; ++step) {
        for (int s = 0; s < B; ++s)
          batch[s] = BatchSeq{tokens[s].data() + prompt + step, 1, prompt + step, tables[s], BatchSeq::Logits::Last,
                              adapter_of(configs[c].n_adapters, s)};
        tf.forward(batch, kv, logits.data());
      }
      const double sec = std::chrono::duration<double>(Clock::now() - t0).count();
      tps[c].push_back(static_cast<double>(steps) * B / sec);
    }
  }
  const double load_after = toolgate::bench::load_average();
  const double base = toolgate::bench::percentile(tps[0], 50);
  for (int c = 0; c < 3; ++c) {
    nlohmann::json j;
    j["bench"] = "lora_decode";
    j["config"] = configs[c].name;
    j["adapters"] = configs[c].n_adapters;
    j["batch"] = B;
    j["rank"] = rank;
    j["threads"] = threads;
    j["tokens_per_s_p50"] = toolgate::bench::percentile(tps[c], 50);
    j["tokens_per_s_all"] = tps[c];
    j["ratio_to_base"] = toolgate::bench::percentile(tps[c], 50) / base;
    // Paired: each round's figure over the base's in the same round (load drifts between rounds).
    std::vector<double> paired;
    for (size_t r = 0; r < tps[c].size(); ++r) paired.push_back(tps[c][r] / tps[0][r]);
    j["paired_ratio_p50"] = toolgate::bench::percentile(paired, 50);
    j["load_avg_1m"] = {load_before, load_after};
    std::printf("%s\n", j.dump().c_str());
  }
  nlohmann::json m;
  m["bench"] = "lora_memory";
  m["rank"] = rank;
  m["targets"] = "q,k,v,o";
  m["bytes_per_adapter"] = adapters[0].bytes();
  m["base_weight_bytes"] = file->file_size();
  std::printf("%s\n", m.dump().c_str());
}
