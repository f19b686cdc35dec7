// Tokenizer throughput: load a model's tokenizer, encode a few KB of English (and code) many
// times, decode it back. Prints one JSON object.
// Usage: tokenizer_bench [--text FILE] [model.gguf ...]
//   (defaults: a built-in, repetitive English+code passage; the two pinned models under models/)
// The encoder merges each distinct word once per call, so a repetitive text flatters it: pass a
// long natural text with --text for the figure that matters.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "engine/gguf.h"
#include "engine/tokenizer.h"

using namespace toolgate::engine;

namespace {
double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

std::string english_text(size_t min_bytes) {
  const std::string para =
      "It was the best of times, it was the worst of times, it was the age of wisdom, it was the "
      "age of foolishness, it was the epoch of belief, it was the epoch of incredulity, it was "
      "the season of Light, it was the season of Darkness. In 1859 there were 2,345 readers; "
      "\"we had everything before us,\" they said -- and we'd nothing before us.\n"
      "    def mean(xs):\n        return sum(xs) / len(xs)  # O(n)\n";
  std::string s;
  while (s.size() < min_bytes) s += para;
  return s;
}
}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> models;
  std::string text_file;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--text" && i + 1 < argc) {
      text_file = argv[++i];
    } else {
      models.push_back(a);
    }
  }
  if (models.empty()) {
    models = {"models/SmolLM2-135M-Instruct-Q4_1.gguf",
              "models/Qwen2.5-Coder-0.5B-Instruct-Q4_K_M.gguf"};
  }
  std::string text = english_text(16 * 1024);
  if (!text_file.empty()) {
    std::ifstream in(text_file, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    text = ss.str();
  }
  std::printf("{\"text\": \"%s\", \"bytes\": %zu, \"results\": [",
              text_file.empty() ? "built-in" : text_file.c_str(), text.size());
  for (size_t m = 0; m < models.size(); ++m) {
    auto t0 = std::chrono::steady_clock::now();
    auto file = GgufFile::open(models[m]);
    auto tok = Tokenizer::from_gguf(*file);
    const double load_s = seconds_since(t0);

    std::vector<int32_t> ids = tok->encode(text, false, false);  // warm-up
    const int reps = 50;
    t0 = std::chrono::steady_clock::now();
    for (int r = 0; r < reps; ++r) ids = tok->encode(text, false, false);
    const double enc_s = seconds_since(t0) / reps;

    std::string back;
    t0 = std::chrono::steady_clock::now();
    for (int r = 0; r < reps; ++r) back = tok->decode(ids);
    const double dec_s = seconds_since(t0) / reps;

    // One long word (no pre-tokenizer split): 16x the bytes should cost far less than the 256x
    // of a quadratic merge loop; n log n plus cache misses measures ~20-80x.
    auto long_word_s = [&](size_t n) {
      const std::string word(n, 'a');
      double best = 1e9;
      for (int r = 0; r < 3; ++r) {
        const auto w0 = std::chrono::steady_clock::now();
        (void)tok->encode(word, false, false);
        best = std::min(best, seconds_since(w0));
      }
      return best;
    };
    (void)long_word_s(64);
    const double word_small = long_word_s(8192);
    const double word_large = long_word_s(131072);

    std::printf("%s\n  {\"model\": \"%s\", \"load_ms\": %.1f, \"tokens\": %zu, "
                "\"encode_ms\": %.3f, \"encode_tokens_per_s\": %.0f, \"encode_MB_per_s\": %.2f, "
                "\"decode_ms\": %.3f, \"round_trip_ok\": %s, \"long_word_8k_ms\": %.2f, "
                "\"long_word_128k_ms\": %.2f, \"long_word_16x_cost\": %.1f}",
                m ? "," : "", models[m].c_str(), load_s * 1e3, ids.size(), enc_s * 1e3,
                ids.size() / enc_s, text.size() / enc_s / 1e6, dec_s * 1e3,
                back == text ? "true" : "false", word_small * 1e3, word_large * 1e3,
                word_large / word_small);
  }
  std::printf("\n]}\n");
  return 0;
}
