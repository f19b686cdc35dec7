#include "engine/perplexity.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>
#include <optional>
#include <stdexcept>
#include <thread>

#include "engine/gguf.h"
#include "engine/kernels/thread_pool.h"
#include "engine/model/hparams.h"
#include "engine/model/key_calibration.h"
#include "engine/model/kv_store.h"
#include "engine/model/lora_adapter.h"
#include "engine/model/transformer.h"
#include "engine/model/weights.h"
#include "engine/tokenizer.h"

namespace toolgate::engine {

PerplexityResult compute_perplexity(const std::filesystem::path& model, const std::string& text,
                                    const PerplexityOptions& o) {
  const auto t0 = std::chrono::steady_clock::now();
  auto file = GgufFile::open(model);
  HParams hp = HParams::from_gguf(*file);
  Weights w = Weights::from_gguf(*file, hp);
  auto tok = Tokenizer::from_gguf(*file);
  std::optional<LoraAdapter> lora;
  if (!o.lora.empty()) lora = LoraAdapter::load(o.lora, hp, *file, "lora", o.lora_scale);
  std::vector<int32_t> ids = tok->encode(text, /*add_special=*/false, /*parse_special=*/false);
  const int n_ctx = std::min(o.n_ctx, hp.n_ctx_train);
  if (static_cast<int>(ids.size()) < 2) throw std::runtime_error("text too short for perplexity");

  const int threads = o.threads > 0 ? o.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  ThreadPool pool(threads);
  const int block_size = 16;
  const int blocks = (n_ctx + block_size - 1) / block_size;
  KvStore kv(hp, blocks, block_size, o.kv_dtype);
  std::vector<int> table(blocks);
  std::iota(table.begin(), table.end(), 0);
  Transformer tf(hp, w, pool, o.batch, o.batch, n_ctx);
  if (o.kv_dtype != KvDtype::F16) tf.set_kv_transform(quantized_kv_transform(tf, *tok));
  std::vector<float> logits(static_cast<size_t>(o.batch) * hp.n_vocab);

  PerplexityResult r;
  double nll = 0.0;
  for (size_t start = 0; start + 1 < ids.size(); start += n_ctx) {
    const int len = static_cast<int>(std::min<size_t>(n_ctx, ids.size() - start));
    if (len < 2 || (o.second_half_only && len < n_ctx)) break;
    const int first_scored = o.second_half_only ? n_ctx / 2 : 0;  // index of the first row scored
    ++r.chunks;
    for (int pos = 0; pos < len; pos += o.batch) {
      const int n = std::min(o.batch, len - pos);
      BatchSeq b{ids.data() + start + pos, n, pos, table, BatchSeq::Logits::All, lora ? &*lora : nullptr};
      tf.forward(std::span<const BatchSeq>(&b, 1), kv, logits.data());
      // Row i predicts token pos + i + 1 of the chunk.
      for (int i = 0; i < n && pos + i + 1 < len; ++i) {
        if (pos + i < first_scored) continue;
        const float* row = &logits[static_cast<size_t>(i) * hp.n_vocab];
        const float mx = *std::max_element(row, row + hp.n_vocab);
        double sum = 0.0;
        for (int v = 0; v < hp.n_vocab; ++v) sum += std::exp(static_cast<double>(row[v] - mx));
        const int32_t target = ids[start + pos + i + 1];
        nll += std::log(sum) + mx - row[target];
        ++r.tokens_scored;
      }
    }
  }
  r.perplexity = std::exp(nll / r.tokens_scored);
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

}  // namespace toolgate::engine
