// engine_bench MODEL [--threads 1,2] [--pp 512] [--tg 128] [--reps 3] [--profile 1]
// Like llama-bench: prompt processing tokens/s for one pp-token prompt (one batched prefill) and
// text generation tokens/s for tg sequential decode steps, per thread count, and the RSS after
// the run (rss_mib; anon_huge_mib of it on transparent huge pages). JSON lines on stdout.
// The *_cpu_tps figures divide by the process's CPU time instead of wall time (all threads,
// spinning included): on a shared, loaded machine they show what the code costs when the wall
// clock mostly shows how often the scheduler let it run.
// --profile 1: after the timed runs, one more tg pass with a StepProfile attached; prints per
// phase the microseconds per decode step, its share, and for the matmul phases the GGUF weight
// bytes read per step and the GB/s that makes (decode is memory bound: compare with read_gbps
// of kernel_bench).
#include <chrono>
#include <ctime>
#include <cstdio>
#include <cstring>
#include <numeric>
#include <sstream>
#include <string>
#include <thread>
#include <vector>
#include <fstream>

#include "engine/gguf.h"
#include "engine/kernels/thread_pool.h"
#include "engine/model/hparams.h"
#include "engine/model/kv_store.h"
#include "engine/model/transformer.h"
#include "engine/model/weights.h"

using namespace toolgate::engine;
using Clock = std::chrono::steady_clock;

static double cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

static std::vector<int> parse_list(const char* s) {
  std::vector<int> v;
  std::stringstream ss(s);
  std::string x;
  while (std::getline(ss, x, ',')) v.push_back(std::stoi(x));
  return v;
}

// Resident set size (VmRSS) in MiB: weights (mapped file pages + repacked copies), KV, buffers.
static double rss_mib() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  return 0.0;
}

// Anonymous memory on transparent huge pages (the packed weights ask for them), MiB.
static double anon_huge_mib() {
  std::ifstream f("/proc/self/smaps_rollup");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("AnonHugePages:", 0) == 0) return std::stod(line.substr(14)) / 1024.0;
  return 0.0;
}

static std::string cpu_model() {
  std::ifstream f("/proc/cpuinfo");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  return "unknown";
}

static size_t bytes_of(const WeightView& v) {
  return ggml_row_size(v.type, v.cols) * static_cast<size_t>(v.rows);
}

static void print_profile(Transformer& tf, const Weights& w, const std::vector<int>& table,
                          const std::vector<int32_t>& tokens, KvStore& kv, std::vector<float>& logits, int tg,
                          int nt) {
  StepProfile prof;
  tf.set_profile(&prof);
  const auto t0 = Clock::now();
  for (int i = 0; i < tg; ++i) {
    BatchSeq d{tokens.data() + i, 1, i, table, BatchSeq::Logits::Last};
    tf.forward(std::span<const BatchSeq>(&d, 1), kv, logits.data());
  }
  const double wall = std::chrono::duration<double>(Clock::now() - t0).count();
  tf.set_profile(nullptr);
  size_t bytes[StepProfile::kPhases] = {};
  for (const LayerWeights& l : w.layers) {
    bytes[StepProfile::Qkv] += bytes_of(l.wq) + bytes_of(l.wk) + bytes_of(l.wv);
    bytes[StepProfile::Wo] += bytes_of(l.wo);
    bytes[StepProfile::GateUp] += bytes_of(l.w_gate) + bytes_of(l.w_up);
    bytes[StepProfile::Down] += bytes_of(l.w_down);
  }
  bytes[StepProfile::Output] = bytes_of(w.output);
  double total = 0;
  for (double s : prof.seconds) total += s;
  std::printf("{\"profile\": \"tg%d\", \"threads\": %d, \"step_us\": %.1f, \"tps\": %.1f, \"phases\": [", tg, nt,
              1e6 * total / static_cast<double>(prof.steps), static_cast<double>(tg) / wall);
  for (int p = 0; p < StepProfile::kPhases; ++p) {
    const double s = prof.seconds[p] / static_cast<double>(prof.steps);
    std::printf("%s\n  {\"phase\": \"%s\", \"us\": %.1f, \"share\": %.3f", p ? "," : "", StepProfile::kNames[p],
                1e6 * s, prof.seconds[p] / total);
    if (bytes[p]) std::printf(", \"mb\": %.1f, \"gbps\": %.1f", bytes[p] * 1e-6, bytes[p] * 1e-9 / s);
    std::printf("}");
  }
  std::printf("]}\n");
}

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s MODEL.gguf [--threads 1,2] [--pp 512] [--tg 128] [--reps 3] [--kv f16|int8|int4]\n", argv[0]);
    return 2;
  }
  std::vector<int> threads = {1, 2};
  int pp = 512, tg = 128, reps = 3;
  KvDtype kvd = KvDtype::F16;
  bool profile = false;
  for (int i = 2; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--threads")) threads = parse_list(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--pp")) pp = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--tg")) tg = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--reps")) reps = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--profile")) profile = std::atoi(argv[i + 1]) != 0;
    else if (!std::strcmp(argv[i], "--kv")) kvd = parse_kv_dtype(argv[i + 1]).value_or(KvDtype::F16);
  }
  auto file = GgufFile::open(argv[1]);
  HParams hp = HParams::from_gguf(*file);
  Weights w = Weights::from_gguf(*file, hp);
  const int ctx = pp + tg + 16;
  const int bs = 16, nblocks = (ctx + bs - 1) / bs;
  std::vector<int> table(nblocks);
  std::iota(table.begin(), table.end(), 0);
  std::vector<int32_t> tokens(pp + tg);
  for (size_t i = 0; i < tokens.size(); ++i) tokens[i] = static_cast<int32_t>((i * 7919 + 13) % hp.n_vocab);
  std::vector<float> logits(hp.n_vocab);

  for (int nt : threads) {
    ThreadPool pool(nt);
    KvStore kv(hp, nblocks, bs, kvd);
    Transformer tf(hp, w, pool, pp, 1, ctx);
    // Warm-up: touch every weight page once.
    BatchSeq warm{tokens.data(), 8, 0, table, BatchSeq::Logits::Last};
    tf.forward(std::span<const BatchSeq>(&warm, 1), kv, logits.data());
    double best_pp = 0, best_tg = 0, best_pp_cpu = 0, best_tg_cpu = 0;
    for (int r = 0; r < reps; ++r) {
      auto t0 = Clock::now();
      double c0 = cpu_seconds();
      BatchSeq b{tokens.data(), pp, 0, table, BatchSeq::Logits::Last};
      tf.forward(std::span<const BatchSeq>(&b, 1), kv, logits.data());
      double s = std::chrono::duration<double>(Clock::now() - t0).count();
      best_pp = std::max(best_pp, pp / s);
      best_pp_cpu = std::max(best_pp_cpu, pp / (cpu_seconds() - c0));
      t0 = Clock::now();
      c0 = cpu_seconds();
      for (int i = 0; i < tg; ++i) {
        BatchSeq d{tokens.data() + i, 1, i, table, BatchSeq::Logits::Last};
        tf.forward(std::span<const BatchSeq>(&d, 1), kv, logits.data());
      }
      s = std::chrono::duration<double>(Clock::now() - t0).count();
      best_tg = std::max(best_tg, tg / s);
      best_tg_cpu = std::max(best_tg_cpu, tg / (cpu_seconds() - c0));
    }
    std::printf("{\"model\": \"%s\", \"cpu\": \"%s\", \"threads\": %d, \"kv\": \"%s\", \"pp%d_tps\": %.1f, \"tg%d_tps\": %.1f, \"pp%d_cpu_tps\": %.1f, \"tg%d_cpu_tps\": %.1f, \"rss_mib\": %.0f, \"anon_huge_mib\": %.0f}\n",
                file->get_string("general.name").value_or("?").c_str(), cpu_model().c_str(), nt,
                kv_dtype_name(kvd), pp, best_pp, tg, best_tg, pp, best_pp_cpu,
                tg, best_tg_cpu, rss_mib(), anon_huge_mib());
    std::fflush(stdout);
    if (profile) print_profile(tf, w, table, tokens, kv, logits, tg, nt);
  }
}
