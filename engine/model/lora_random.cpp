#include "engine/model/lora_random.h"

#include <cmath>
#include <random>
#include <string>

#include "engine/kernels/dequant.h"

namespace toolgate::engine {
namespace {

std::vector<uint8_t> encode(GgmlType type, const std::vector<float>& v, int64_t row) {
  const size_t rb = ggml_row_size(type, row);
  const size_t rows = v.size() / static_cast<size_t>(row);
  std::vector<uint8_t> out(rb * rows);
  for (size_t r = 0; r < rows; ++r) quantize_row(type, v.data() + r * row, out.data() + r * rb, row);
  return out;
}

}  // namespace

GgufWriter make_random_lora(const HParams& hp, const RandomLoraSpec& spec) {
  GgufWriter w;
  w.set_string("general.architecture", hp.architecture);
  w.set_string("general.type", "adapter");
  w.set_string("adapter.type", "lora");
  w.set_f32("adapter.lora.alpha", spec.alpha);
  std::mt19937_64 rng(spec.seed);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  for (int l = 0; l < hp.n_layer; ++l) {
    for (LoraTarget t : spec.targets) {
      int64_t n_in = hp.n_embd, n_out = hp.n_embd;
      switch (t) {
        case LoraTarget::Q: n_out = hp.q_dim(); break;
        case LoraTarget::K: case LoraTarget::V: n_out = hp.kv_dim(); break;
        case LoraTarget::O: n_in = hp.q_dim(); break;
        case LoraTarget::Gate: case LoraTarget::Up: n_out = hp.n_ff; break;
        case LoraTarget::Down: n_in = hp.n_ff; break;
      }
      std::vector<float> a(static_cast<size_t>(spec.rank * n_in)), b(static_cast<size_t>(n_out * spec.rank));
      const float sa = 1.0f / std::sqrt(static_cast<float>(n_in));
      for (float& x : a) x = u(rng) * sa;
      for (float& x : b) x = u(rng) * spec.b_scale;
      const std::string name = "blk." + std::to_string(l) + "." + lora_target_name(t) + ".weight";
      w.add_tensor(name + ".lora_a", spec.type, {n_in, spec.rank}, encode(spec.type, a, n_in));
      w.add_tensor(name + ".lora_b", spec.type, {spec.rank, n_out}, encode(spec.type, b, spec.rank));
    }
  }
  return w;
}

}  // namespace toolgate::engine
