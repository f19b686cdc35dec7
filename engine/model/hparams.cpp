#include "engine/model/hparams.h"

#include <stdexcept>

#include "engine/gguf.h"

namespace toolgate::engine {
namespace {

int64_t require_int(const GgufFile& f, const std::string& key) {
  auto v = f.get_int(key);
  if (!v) throw std::runtime_error(f.name() + ": missing metadata '" + key + "'");
  return *v;
}

}  // namespace

HParams HParams::from_gguf(const GgufFile& f) {
  HParams hp;
  hp.architecture = f.get_string("general.architecture").value_or("");
  const std::string& a = hp.architecture;
  if (a == "llama") {
    hp.rope_layout = RopeLayout::Adjacent;
  } else if (a == "qwen2") {
    hp.rope_layout = RopeLayout::HalfSplit;
    hp.qkv_bias = true;
  } else {
    throw std::runtime_error(f.name() + ": unsupported architecture '" + a +
                             "' (supported: llama, qwen2)");
  }
  hp.n_layer = static_cast<int>(require_int(f, a + ".block_count"));
  hp.n_embd = static_cast<int>(require_int(f, a + ".embedding_length"));
  hp.n_ff = static_cast<int>(require_int(f, a + ".feed_forward_length"));
  hp.n_head = static_cast<int>(require_int(f, a + ".attention.head_count"));
  hp.n_head_kv = static_cast<int>(f.get_int(a + ".attention.head_count_kv").value_or(hp.n_head));
  hp.n_ctx_train = static_cast<int>(f.get_int(a + ".context_length").value_or(2048));
  hp.rms_eps = static_cast<float>(f.get_float(a + ".attention.layer_norm_rms_epsilon").value_or(1e-5));
  hp.rope_freq_base = static_cast<float>(f.get_float(a + ".rope.freq_base").value_or(10000.0));
  if (auto scale = f.get_float(a + ".rope.scale_linear")) hp.rope_freq_scale = 1.0f / static_cast<float>(*scale);
  if (auto type = f.get_string(a + ".rope.scaling.type"); type && *type == "linear") {
    if (auto factor = f.get_float(a + ".rope.scaling.factor"); factor && *factor > 0)
      hp.rope_freq_scale = 1.0f / static_cast<float>(*factor);
  }
  if (hp.n_layer <= 0 || hp.n_embd <= 0 || hp.n_head <= 0 || hp.n_head_kv <= 0 || hp.n_ff <= 0 ||
      hp.n_embd % hp.n_head != 0 || hp.n_head % hp.n_head_kv != 0)
    throw std::runtime_error(f.name() + ": inconsistent attention shape metadata");
  hp.head_dim = static_cast<int>(f.get_int(a + ".attention.key_length").value_or(hp.n_embd / hp.n_head));
  hp.rope_dim = static_cast<int>(f.get_int(a + ".rope.dimension_count").value_or(hp.head_dim));
  if (hp.rope_dim > hp.head_dim || hp.rope_dim % 2 != 0)
    throw std::runtime_error(f.name() + ": rope.dimension_count " + std::to_string(hp.rope_dim) + " is invalid");
  const auto& embd = f.require_tensor("token_embd.weight");
  hp.n_vocab = static_cast<int>(embd.ne[1]);
  if (embd.ne[0] != hp.n_embd) throw std::runtime_error(f.name() + ": token_embd width differs from embedding_length");
  return hp;
}

}  // namespace toolgate::engine
