// Matmul kernel throughput per weight type, ISA path and thread count, printed as JSON.
//
// Decode is memory-bound, so matvec must be timed on weights that are not cache-resident: each
// measurement cycles through copies of the matrix spanning ~640 MB (more than the L3), the way
// a forward pass streams every layer once per token. GB/s counts weight bytes read per second;
// GFLOP/s counts 2 * rows * cols * n.
//
// Usage: kernel_bench [--quick] [--type Q4_1] [--isa avx512] [--n 1] [--threads 2]
//   --hot: reuse one copy of the matrix (cache-resident): the kernels' compute ceiling.
//   --packed: time the matrices repacked by pack_weights_x16 (what the engine runs) where the
//             ISA has a packed kernel; "packed": true in the output.
//   --quick: only n = 1 and the three main shapes (no 151936-row Q8_0), shorter timing.
//   --shape ROWSxCOLS: only this shape (e.g. 151936x1536, the 1.5B's output projection).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <random>
#include <string>
#include <vector>

#include "engine/kernels/cpu_features.h"
#include "engine/kernels/dequant.h"
#include "engine/kernels/matmul.h"
#include "engine/kernels/thread_pool.h"

using namespace toolgate::engine;

namespace {

struct Shape {
  int64_t rows, cols;
};

double thread_cpu_s() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

struct Args {
  std::string type, isa;
  int64_t n = -1;
  int threads = -1;
  bool quick = false;
  bool hot = false;  // no rotation: the matrix stays cache-resident (kernel compute speed)
  bool packed = false;  // also time the load-time repack (pack_weights_x16) where one exists
  int64_t rows = 0, cols = 0;  // --shape: only this one
};

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string s = argv[i];
    auto next = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (s == "--quick")
      a.quick = true;
    else if (s == "--hot")
      a.hot = true;
    else if (s == "--packed")
      a.packed = true;
    else if (s == "--type")
      a.type = next();
    else if (s == "--isa")
      a.isa = next();
    else if (s == "--n")
      a.n = std::stoll(next());
    else if (s == "--threads")
      a.threads = std::stoi(next());
    else if (s == "--shape") {
      const std::string v = next();
      a.rows = std::stoll(v);
      a.cols = std::stoll(v.substr(v.find('x') + 1));
    }
  }
  return a;
}

// Latency of an empty fork-join round trip.
double pool_overhead_us(ThreadPool& pool) {
  for (int i = 0; i < 1000; ++i) pool.run(pool.size(), [](int, int) {});
  const int iters = 20000;
  const double t0 = now_s();
  for (int i = 0; i < iters; ++i) pool.run(pool.size(), [](int, int) {});
  return (now_s() - t0) / iters * 1e6;
}

// Plain streaming read of the arena with the same threads: the bandwidth ceiling right now
// (the machine is shared, so this moves from run to run).
double read_bandwidth_gbps(const std::vector<uint8_t>& arena, ThreadPool& pool) {
  const size_t chunks = 64, per = arena.size() / chunks / 64 * 64;
  std::vector<uint64_t> sink(static_cast<size_t>(pool.size()) * 8);
  double best = 0;
  for (int rep = 0; rep < 5; ++rep) {
    const double t0 = now_s();
    pool.run(static_cast<int>(chunks), [&](int c, int t) {
      const auto* p =
          reinterpret_cast<const uint64_t*>(arena.data() + static_cast<size_t>(c) * per);
      uint64_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
      for (size_t i = 0; i < per / 8; i += 4) {
        a0 += p[i];
        a1 += p[i + 1];
        a2 += p[i + 2];
        a3 += p[i + 3];
      }
      sink[static_cast<size_t>(t) * 8] += a0 + a1 + a2 + a3;
    });
    best = std::max(best, static_cast<double>(per * chunks) / (now_s() - t0) * 1e-9);
  }
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  const Args args = parse(argc, argv);
  const GgmlType types[] = {GgmlType::Q4_0, GgmlType::Q4_1, GgmlType::Q5_0,
                            GgmlType::Q5_1, GgmlType::Q8_0, GgmlType::Q4_K,
                            GgmlType::Q5_K, GgmlType::Q6_K, GgmlType::F16};
  std::vector<Shape> shapes = {{576, 1536}, {896, 4864}, {4864, 896}};
  if (args.rows > 0) shapes = {{args.rows, args.cols}};
  const std::vector<int64_t> batch =
      args.quick ? std::vector<int64_t>{1} : std::vector<int64_t>{1, 16, 512};
  const size_t arena_bytes = size_t{640} << 20;
  std::vector<uint8_t> arena(arena_bytes);

  ThreadPool pool1(1), pool2(2);
  std::printf("{\n  \"isa_detected\": \"%s\",\n", std::string(isa_name(detected_isa())).c_str());
  std::printf("  \"pool_roundtrip_us\": {\"2_threads\": %.3f},\n", pool_overhead_us(pool2));
  for (auto& b : arena) b = 1;  // touch every page before timing reads
  std::printf("  \"read_gbps\": {\"1_thread\": %.2f, \"2_threads\": %.2f},\n",
              read_bandwidth_gbps(arena, pool1), read_bandwidth_gbps(arena, pool2));
  std::printf("  \"mode\": \"%s\",\n",
              args.hot ? "hot (cache-resident weights)" : "cold (weights streamed from DRAM)");
  std::printf("  \"results\": [\n");
  bool first = true;
  std::mt19937 rng(42);
  std::normal_distribution<float> g(0.0f, 0.5f);

  auto run_type_shape = [&](GgmlType type, Shape sh) {
    if (!args.type.empty() && args.type != ggml_type_name(type)) return;
    const auto traits = *ggml_type_traits(static_cast<uint32_t>(type));
    if (sh.cols % traits.block_size != 0) return;  // e.g. K-quants need cols % 256 == 0
    const size_t row_bytes = ggml_row_size(type, sh.cols);
    const size_t mat_bytes = row_bytes * static_cast<size_t>(sh.rows);
    const size_t copies = args.hot ? 1 : std::max<size_t>(1, arena_bytes / mat_bytes);
    {  // one valid matrix, replicated
      std::vector<float> row(static_cast<size_t>(sh.cols));
      for (int64_t r = 0; r < sh.rows; ++r) {
        for (auto& v : row) v = g(rng);
        quantize_row(type, row.data(), arena.data() + r * row_bytes, sh.cols);
      }
      for (size_t c = 1; c < copies; ++c)
        std::memcpy(arena.data() + c * mat_bytes, arena.data(), mat_bytes);
    }
    for (int lvl = 0; lvl <= static_cast<int>(detected_isa()); ++lvl) {
      const auto isa = static_cast<IsaLevel>(lvl);
      if (!args.isa.empty() && args.isa != isa_name(isa)) continue;
      force_isa(isa);
      // The packed copies (one per arena copy, so the cold figure stays cold).
      const WeightView probe{type, arena.data(), sh.rows, sh.cols};
      const size_t packed_bytes = args.packed ? packed_size_x16(probe) : 0;
      std::vector<uint8_t> packed_arena;
      uint8_t* packed_base = nullptr;
      if (packed_bytes) {
        const size_t stride = (packed_bytes + 63) / 64 * 64;
        packed_arena.resize(stride * copies + 64);
        packed_base = packed_arena.data() +
                      (64 - reinterpret_cast<uintptr_t>(packed_arena.data()) % 64) % 64;
        pack_weights_x16(probe, packed_base);
        for (size_t c = 1; c < copies; ++c)
          std::memcpy(packed_base + c * stride, packed_base, packed_bytes);
      }
      const size_t packed_stride = (packed_bytes + 63) / 64 * 64;
      for (int64_t n : batch) {
        if (args.n > 0 && n != args.n) continue;
        if (isa == IsaLevel::Scalar && n > 16) continue;  // minutes per point; not informative
        std::vector<float> x(static_cast<size_t>(n * sh.cols)), y(static_cast<size_t>(n * sh.rows));
        for (auto& v : x) v = g(rng);
        for (int threads : {1, 2}) {
          if (args.threads > 0 && threads != args.threads) continue;
          ThreadPool& pool = threads == 1 ? pool1 : pool2;
          MatmulScratch scratch;
          size_t copy = 0;
          auto once = [&] {
            const size_t c = copy++ % copies;
            WeightView w{type, arena.data() + c * mat_bytes, sh.rows, sh.cols};
            if (packed_base) w.packed = packed_base + c * packed_stride;
            matmul(w, x.data(), n, y.data(), pool, scratch);
          };
          for (size_t i = 0; i < std::min<size_t>(copies, 4); ++i) once();  // warm-up
          const double budget = args.quick ? 0.15 : 0.3;
          std::vector<double> times, cpu_times;
          const double start = now_s();
          while (times.size() < 3 || (now_s() - start < budget && times.size() < 2000)) {
            const double c0 = thread_cpu_s();
            const double t0 = now_s();
            once();
            times.push_back(now_s() - t0);
            cpu_times.push_back(thread_cpu_s() - c0);
          }
          std::sort(times.begin(), times.end());
          std::sort(cpu_times.begin(), cpu_times.end());
          // One thread: the caller's CPU time is the kernel time, whatever else runs on the box.
          // Two threads: wall clock (best and median) — the only honest figure for a parallel
          // run, and hostage to how busy the shared machine is.
          const double med =
              threads == 1 ? cpu_times[cpu_times.size() / 2] : times[times.size() / 2];
          const double best = threads == 1 ? cpu_times.front() : times.front();
          const double flops = 2.0 * static_cast<double>(sh.rows) * static_cast<double>(sh.cols) *
                               static_cast<double>(n);
          std::printf(
              "%s    {\"type\": \"%s\", \"rows\": %lld, \"cols\": %lld, \"n\": %lld, \"isa\": "
              "\"%s\", "
              "\"threads\": %d, \"packed\": %s, \"clock\": \"%s\", \"median_us\": %.1f, \"gbps\": %.2f, "
              "\"gbps_best\": %.2f, "
              "\"gflops\": %.2f, \"gflops_best\": %.2f}",
              first ? "" : ",\n", std::string(ggml_type_name(type)).c_str(),
              static_cast<long long>(sh.rows), static_cast<long long>(sh.cols),
              static_cast<long long>(n), std::string(isa_name(isa)).c_str(), threads,
              packed_base ? "true" : "false", threads == 1 ? "thread_cpu" : "wall", med * 1e6,
              static_cast<double>(mat_bytes) / med * 1e-9,
              static_cast<double>(mat_bytes) / best * 1e-9, flops / med * 1e-9,
              flops / best * 1e-9);
          std::fflush(stdout);
          first = false;
        }
      }
    }
    reset_isa();
  };

  for (GgmlType type : types)
    for (Shape sh : shapes) run_type_shape(type, sh);
  if (!args.quick && args.rows == 0) run_type_shape(GgmlType::Q8_0, {151936, 896});
  std::printf("\n  ]\n}\n");
  return 0;
}
