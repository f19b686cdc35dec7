// kv_quant_bench [--model M.gguf] [--text FILE] [--tokens 256] [--threads 2]
// How much the int8 KV option perturbs each layer's keys and values for a real prompt: runs one
// prefill with f16 KV, reads every stored row back, quantizes it as the int8 path would
// (quantize_kv_int8, per slot and KV head) and prints, per layer and for K and V:
//   *_rel_rms_err            ||x - x̂|| / ||x||
//   *_max_over_rms           the largest max|x| / rms(x) of any row (outlier channels)
//   *_err_over_varying       ||x - x̂|| / ||x - mean_pos(x)||: error against the part of x that
//                            varies with position -- the only part attention sees, since adding
//                            one vector to every key shifts all of a query's scores equally
//                            (softmax-invariant) and adding one to every value shifts the output
//                            by that vector.
//   *_err_over_varying_if_centered  the same if the channel mean were subtracted before quantizing.
// One JSON line per layer, then a summary line.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <numeric>
#include <sstream>
#include <string>
#include <vector>

#include "engine/gguf.h"
#include "engine/kernels/thread_pool.h"
#include "engine/kernels/vec.h"
#include "engine/model/hparams.h"
#include "engine/model/kv_store.h"
#include "engine/model/transformer.h"
#include "engine/model/weights.h"
#include "engine/tokenizer.h"

using namespace toolgate::engine;

int main(int argc, char** argv) {
  std::string model = "models/SmolLM2-135M-Instruct-Q4_1.gguf",
              text_path = "tests/data/declaration.txt";
  int n_tokens = 256, threads = 2;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--model"))
      model = argv[i + 1];
    else if (!std::strcmp(argv[i], "--text"))
      text_path = argv[i + 1];
    else if (!std::strcmp(argv[i], "--tokens"))
      n_tokens = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--threads"))
      threads = std::atoi(argv[i + 1]);
  }
  std::ifstream in(text_path);
  std::stringstream ss;
  ss << in.rdbuf();
  auto file = GgufFile::open(model);
  const HParams hp = HParams::from_gguf(*file);
  const Weights w = Weights::from_gguf(*file, hp);
  auto tok = Tokenizer::from_gguf(*file);
  std::vector<int32_t> ids = tok->encode(ss.str(), false, false);
  if (ids.empty()) return 1;
  n_tokens = std::min<int>(n_tokens, static_cast<int>(ids.size()));

  const int bs = 16, nblocks = (n_tokens + bs - 1) / bs;
  std::vector<int> table(nblocks);
  std::iota(table.begin(), table.end(), 0);
  ThreadPool pool(threads);
  KvStore kv(hp, nblocks, bs, KvDtype::F16);
  Transformer tf(hp, w, pool, n_tokens, 1, n_tokens);
  std::vector<float> logits(hp.n_vocab);
  BatchSeq b{ids.data(), n_tokens, 0, table, BatchSeq::Logits::Last};
  tf.forward(std::span<const BatchSeq>(&b, 1), kv, logits.data());

  const int HD = hp.head_dim, KD = hp.kv_dim();
  std::vector<float> row(HD);
  std::vector<int8_t> q(HD);
  double worst[2] = {0, 0}, mean[2] = {0, 0};
  for (int l = 0; l < hp.n_layer; ++l) {
    double err2[2] = {0, 0}, sig2[2] = {0, 0}, outlier[2] = {0, 0};
    // Around the channel mean: its variance, the plain int8 error, the error of int8 of (x - mean).
    double cvar[2] = {0, 0}, cerr2[2] = {0, 0}, centered_err2[2] = {0, 0};
    for (int kvi = 0; kvi < 2; ++kvi) {
      // Channel means over positions, per KV head: a constant key offset does not change
      // softmax(q.k), so only the part of x that varies with position matters to attention.
      std::vector<double> mu(KD, 0.0);
      for (int p = 0; p < n_tokens; ++p) {
        const uint16_t* src =
            static_cast<const uint16_t*>(kv.rows(table[p / bs], l, kvi)) + size_t(p % bs) * KD;
        for (int j = 0; j < KD; ++j) {
          float v;
          f16_to_f32_row(src + j, &v, 1);
          mu[j] += v / n_tokens;
        }
      }
      for (int p = 0; p < n_tokens; ++p) {
        const uint16_t* src =
            static_cast<const uint16_t*>(kv.rows(table[p / bs], l, kvi)) + size_t(p % bs) * KD;
        for (int h = 0; h < hp.n_head_kv; ++h) {
          f16_to_f32_row(src + h * HD, row.data(), HD);
          float scale, zero;
          quantize_kv_int8(row.data(), HD, q.data(), &scale, &zero);
          for (int j = 0; j < HD; ++j) {
            const double c = row[j] - mu[h * HD + j];
            const double d = scale * q[j] + zero - row[j];
            cvar[kvi] += c * c;
            cerr2[kvi] += d * d;
          }
          for (int j = 0; j < HD; ++j) row[j] -= static_cast<float>(mu[h * HD + j]);
          quantize_kv_int8(row.data(), HD, q.data(), &scale, &zero);
          for (int j = 0; j < HD; ++j) {
            const double d = scale * q[j] + zero - row[j];
            centered_err2[kvi] += d * d;
          }
        }
      }
      for (int p = 0; p < n_tokens; ++p) {
        const uint16_t* src =
            static_cast<const uint16_t*>(kv.rows(table[p / bs], l, kvi)) + size_t(p % bs) * KD;
        for (int h = 0; h < hp.n_head_kv; ++h) {
          f16_to_f32_row(src + h * HD, row.data(), HD);
          float scale, zero;
          quantize_kv_int8(row.data(), HD, q.data(), &scale, &zero);
          double e = 0, s = 0, mx = 0;
          for (int j = 0; j < HD; ++j) {
            const double d = scale * q[j] + zero - row[j];
            e += d * d;
            s += double(row[j]) * row[j];
            mx = std::max(mx, std::abs(double(row[j])));
          }
          err2[kvi] += e;
          sig2[kvi] += s;
          outlier[kvi] = std::max(outlier[kvi], mx / std::sqrt(s / HD + 1e-30));
        }
      }
    }
    const double rk = std::sqrt(err2[0] / sig2[0]), rv = std::sqrt(err2[1] / sig2[1]);
    worst[0] = std::max(worst[0], rk), worst[1] = std::max(worst[1], rv);
    mean[0] += rk / hp.n_layer, mean[1] += rv / hp.n_layer;
    // Error relative to the position-varying part: plain int8, and int8 of the centered rows.
    std::printf(
        "{\"layer\": %d, \"k_rel_rms_err\": %.5f, \"v_rel_rms_err\": %.5f, \"k_max_over_rms\": "
        "%.1f, "
        "\"v_max_over_rms\": %.1f, \"k_err_over_varying\": %.4f, "
        "\"k_err_over_varying_if_centered\": %.4f, "
        "\"v_err_over_varying\": %.4f, \"v_err_over_varying_if_centered\": %.4f}\n",
        l, rk, rv, outlier[0], outlier[1], std::sqrt(cerr2[0] / cvar[0]),
        std::sqrt(centered_err2[0] / cvar[0]), std::sqrt(cerr2[1] / cvar[1]),
        std::sqrt(centered_err2[1] / cvar[1]));
  }
  std::printf(
      "{\"model\": \"%s\", \"tokens\": %d, \"head_dim\": %d, \"n_head_kv\": %d, "
      "\"k_rel_rms_err_mean\": %.5f, "
      "\"k_rel_rms_err_max\": %.5f, \"v_rel_rms_err_mean\": %.5f, \"v_rel_rms_err_max\": %.5f}\n",
      file->get_string("general.name").value_or("?").c_str(), n_tokens, HD, hp.n_head_kv, mean[0],
      worst[0], mean[1], worst[1]);
}
