#include "engine/model/lora_adapter.h"

#include <map>

#include "engine/gguf.h"
#include "engine/kernels/dequant.h"

namespace toolgate::engine {
namespace {

constexpr const char* kTargetNames[kLoraTargets] = {"attn_q", "attn_k", "attn_v", "attn_output",
                                                    "ffn_gate", "ffn_up", "ffn_down"};

std::string shape(const GgufTensor& t) {
  std::string s = "[";
  for (int i = 0; i < t.n_dims; ++i) s += (i ? ", " : "") + std::to_string(t.ne[i]);
  return s + "]";
}

// "blk.<i>.<target>.weight" → (i, target); nullopt for anything else.
std::optional<std::pair<int, LoraTarget>> parse_base_name(const std::string& name) {
  if (name.rfind("blk.", 0) != 0) return std::nullopt;
  const size_t dot = name.find('.', 4);
  if (dot == std::string::npos || dot == 4) return std::nullopt;
  int layer = 0;
  for (size_t i = 4; i < dot; ++i) {
    if (name[i] < '0' || name[i] > '9' || layer > 100000) return std::nullopt;
    layer = layer * 10 + (name[i] - '0');
  }
  for (int t = 0; t < kLoraTargets; ++t)
    if (name.compare(dot + 1, std::string::npos, std::string(kTargetNames[t]) + ".weight") == 0)
      return std::make_pair(layer, static_cast<LoraTarget>(t));
  return std::nullopt;
}

std::vector<float> to_f32(const GgufTensor& t, const std::string& file) {
  switch (t.type) {
    case GgmlType::F32: case GgmlType::F16: case GgmlType::BF16: case GgmlType::Q8_0: break;
    default:
      throw LoraAdapterError(file + ": tensor '" + t.name + "' has type " + std::string(ggml_type_name(t.type)) +
                             "; LoRA tensors must be F32, F16, BF16 or Q8_0");
  }
  const auto traits = ggml_type_traits(static_cast<uint32_t>(t.type));
  if (t.ne[0] % traits->block_size != 0)
    throw LoraAdapterError(file + ": tensor '" + t.name + "' has rows of " + std::to_string(t.ne[0]) +
                           " elements, not a multiple of the " + std::string(traits->name) + " block size " +
                           std::to_string(traits->block_size));
  std::vector<float> out(static_cast<size_t>(t.n_elements()));
  const size_t row_bytes = ggml_row_size(t.type, t.ne[0]);
  for (int64_t r = 0; r < t.rows(); ++r)
    dequantize_row(t.type, t.data + row_bytes * r, out.data() + r * t.ne[0], t.ne[0]);
  return out;
}

uint64_t fnv1a(const std::string& s, uint64_t h = 1469598103934665603ull) {
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

}  // namespace

const char* lora_target_name(LoraTarget t) { return kTargetNames[static_cast<int>(t)]; }

size_t LoraAdapter::num_matrices() const {
  size_t n = 0;
  for (const auto& l : layers)
    for (const auto& m : l) n += m.has_value();
  return n;
}

size_t LoraAdapter::bytes() const {
  size_t n = 0;
  for (const auto& l : layers)
    for (const auto& m : l)
      if (m) n += (m->a.size() + m->b_t.size()) * sizeof(float);
  return n;
}

LoraAdapter LoraAdapter::load(const std::filesystem::path& path, const HParams& hp, const GgufFile& base,
                              std::string id, float scale) {
  std::unique_ptr<GgufFile> f;
  try {
    f = GgufFile::open(path);
  } catch (const std::exception& e) {
    throw LoraAdapterError(std::string("LoRA adapter: ") + e.what());
  }
  LoraAdapter a = from_gguf(*f, hp, base, std::move(id), scale);
  a.path = path.string();
  return a;
}

LoraAdapter LoraAdapter::from_gguf(const GgufFile& f, const HParams& hp, const GgufFile& base, std::string id,
                                   float scale) {
  const std::string& file = f.name();
  auto fail = [&](const std::string& what) -> void { throw LoraAdapterError(file + ": " + what); };
  try {
    const auto type = f.get_string("general.type");
    if (type != "adapter")
      fail("not a LoRA adapter (general.type is " + (type ? "'" + *type + "'" : std::string("missing")) +
           ", expected 'adapter')");
    const auto adapter_type = f.get_string("adapter.type");
    if (adapter_type != "lora")
      fail("adapter.type is " + (adapter_type ? "'" + *adapter_type + "'" : std::string("missing")) +
           ", expected 'lora'");
    const auto arch = f.get_string("general.architecture");
    if (arch != hp.architecture)
      fail("adapter is for architecture '" + arch.value_or("(missing)") + "' but the base model is '" +
           hp.architecture + "'");
  } catch (const GgufError& e) {
    fail(e.what());
  }
  LoraAdapter a;
  a.id = std::move(id);
  a.path = file;
  a.scale = scale;
  try {
    a.alpha = static_cast<float>(f.get_float("adapter.lora.alpha").value_or(0.0));
  } catch (const GgufError& e) {
    fail(e.what());
  }
  a.layers.resize(static_cast<size_t>(hp.n_layer));

  // Pair up <W>.lora_a / <W>.lora_b.
  std::map<std::string, std::pair<const GgufTensor*, const GgufTensor*>> pairs;
  for (const GgufTensor& t : f.tensors()) {
    const auto ends = [&](const char* suf) {
      const size_t n = std::char_traits<char>::length(suf);
      return t.name.size() > n && t.name.compare(t.name.size() - n, n, suf) == 0;
    };
    if (ends(".lora_a")) pairs[t.name.substr(0, t.name.size() - 7)].first = &t;
    else if (ends(".lora_b")) pairs[t.name.substr(0, t.name.size() - 7)].second = &t;
    else fail("tensor '" + t.name + "' is neither a .lora_a nor a .lora_b tensor");
  }
  if (pairs.empty()) fail("adapter has no LoRA tensors");
  for (const auto& [name, ab] : pairs) {
    const auto [ta, tb] = ab;
    if (!ta) fail("tensor '" + name + ".lora_b' has no matching '" + name + ".lora_a'");
    if (!tb) fail("tensor '" + name + ".lora_a' has no matching '" + name + ".lora_b'");
    const GgufTensor* w = base.tensor(name);
    if (!w) fail("tensor '" + ta->name + "' adapts '" + name + "', which the base model " + base.name() + " does not have");
    const auto where = parse_base_name(name);
    if (!where || where->first >= hp.n_layer)
      fail("tensor '" + ta->name + "' adapts '" + name +
           "'; only the attention and MLP projections of the blocks can be adapted");
    if (ta->n_dims != 2 || tb->n_dims != 2)
      fail("tensors '" + ta->name + "' " + shape(*ta) + " and '" + tb->name + "' " + shape(*tb) + " must be 2-D");
    const int64_t n_in = w->ne[0], n_out = w->ne[1];
    if (ta->ne[0] != n_in)
      fail("tensor '" + ta->name + "' has shape " + shape(*ta) + " but the base tensor '" + name + "' " +
           shape(*w) + " takes " + std::to_string(n_in) + " inputs (expected [" + std::to_string(n_in) + ", r])");
    if (tb->ne[1] != n_out)
      fail("tensor '" + tb->name + "' has shape " + shape(*tb) + " but the base tensor '" + name + "' " + shape(*w) +
           " has " + std::to_string(n_out) + " outputs (expected [r, " + std::to_string(n_out) + "])");
    if (ta->ne[1] != tb->ne[0])
      fail("ranks differ: '" + ta->name + "' " + shape(*ta) + " has rank " + std::to_string(ta->ne[1]) + ", '" +
           tb->name + "' " + shape(*tb) + " has rank " + std::to_string(tb->ne[0]));
    if (ta->ne[1] < 1 || ta->ne[1] > 1024)
      fail("tensor '" + ta->name + "' has rank " + std::to_string(ta->ne[1]) + " (1..1024 supported)");
    LoraMatrix m;
    m.rank = static_cast<int>(ta->ne[1]);
    m.n_in = n_in;
    m.n_out = n_out;
    m.a = to_f32(*ta, file);
    const std::vector<float> b = to_f32(*tb, file);  // (n_out, rank)
    m.b_t.resize(b.size());
    for (int64_t o = 0; o < n_out; ++o)
      for (int i = 0; i < m.rank; ++i) m.b_t[size_t(i) * n_out + o] = b[size_t(o) * m.rank + i];
    m.factor = a.alpha != 0.0f ? scale * a.alpha / static_cast<float>(m.rank) : scale;
    a.layers[static_cast<size_t>(where->first)][static_cast<size_t>(where->second)] = std::move(m);
  }
  a.cache_key = fnv1a(a.id, fnv1a(a.path)) | 1;  // never 0 (the base's key)
  return a;
}

}  // namespace toolgate::engine
