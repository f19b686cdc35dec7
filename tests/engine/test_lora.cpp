// LoRA adapters: GGUF parsing and every validation error, runtime application against merged
// weights for each adapter tensor type, batches mixing adapters, prefix-cache separation by
// adapter, merge-lora output that loads, and the base model bit for bit when no adapter runs.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <future>
#include <numeric>
#include <random>

#include "engine/engine.h"
#include "engine/gguf.h"
#include "engine/gguf_writer.h"
#include "engine/kernels/dequant.h"
#include "engine/kv/kv_cache_manager.h"
#include "engine/model/lora_adapter.h"
#include "engine/model/lora_merge.h"
#include "engine/model/lora_random.h"
#include "engine/model/transformer.h"
#include "engine/model/weights.h"
#include "engine/tokenizer.h"
#include "test_paths.h"

using namespace toolgate::engine;
namespace fs = std::filesystem;

namespace {

// A tiny llama (2 blocks, width 64, GQA 4/2 heads) with random weights of `type`: enough to run
// the real forward pass without a tokenizer.
GgufWriter tiny_llama(GgmlType type, uint64_t seed = 7) {
  const int D = 64, F = 128, L = 2, V = 96, H = 4, HKV = 2, HD = D / H;
  GgufWriter w;
  w.set_string("general.architecture", "llama");
  w.set_string("general.name", "tiny");
  w.set_u32("llama.block_count", L);
  w.set_u32("llama.embedding_length", D);
  w.set_u32("llama.feed_forward_length", F);
  w.set_u32("llama.attention.head_count", H);
  w.set_u32("llama.attention.head_count_kv", HKV);
  w.set_u32("llama.context_length", 256);
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  auto matrix = [&](const std::string& name, int64_t rows, int64_t cols) {
    std::vector<float> v(static_cast<size_t>(rows * cols));
    for (float& x : v) x = u(rng) / std::sqrt(static_cast<float>(cols));
    const size_t rb = ggml_row_size(type, cols);
    std::vector<uint8_t> bytes(rb * rows);
    for (int64_t r = 0; r < rows; ++r) quantize_row(type, v.data() + r * cols, bytes.data() + r * rb, cols);
    w.add_tensor(name, type, {cols, rows}, std::move(bytes));
  };
  auto ones = [&](const std::string& name, int64_t n) { w.add_tensor_f32(name, {n}, std::vector<float>(n, 1.0f)); };
  matrix("token_embd.weight", V, D);
  ones("output_norm.weight", D);
  matrix("output.weight", V, D);
  for (int l = 0; l < L; ++l) {
    const std::string p = "blk." + std::to_string(l) + ".";
    ones(p + "attn_norm.weight", D);
    matrix(p + "attn_q.weight", D, D);
    matrix(p + "attn_k.weight", HKV * HD, D);
    matrix(p + "attn_v.weight", HKV * HD, D);
    matrix(p + "attn_output.weight", D, D);
    ones(p + "ffn_norm.weight", D);
    matrix(p + "ffn_gate.weight", F, D);
    matrix(p + "ffn_up.weight", F, D);
    matrix(p + "ffn_down.weight", D, F);
  }
  return w;
}

struct TinyModel {
  std::vector<uint8_t> bytes;
  std::unique_ptr<GgufFile> file;
  HParams hp;
  Weights w;
  explicit TinyModel(std::vector<uint8_t> b) : bytes(std::move(b)) {
    file = GgufFile::parse(bytes, "tiny.gguf");
    hp = HParams::from_gguf(*file);
    w = Weights::from_gguf(*file, hp);
  }
};

std::unique_ptr<GgufFile> parse(const std::vector<uint8_t>& bytes, const std::string& name = "adapter.gguf") {
  return GgufFile::parse(bytes, name);
}

// All-token logits of one sequence, optionally under an adapter.
std::vector<float> logits_of(const TinyModel& m, const std::vector<int32_t>& tokens, const LoraAdapter* adapter,
                             ThreadPool& pool) {
  Transformer tf(m.hp, m.w, pool, 64, 64, 256);
  KvStore kv(m.hp, 16, 16, KvDtype::F16);
  std::vector<int> table(16);
  std::iota(table.begin(), table.end(), 0);
  BatchSeq b{tokens.data(), static_cast<int>(tokens.size()), 0, table, BatchSeq::Logits::All, adapter};
  std::vector<float> out(tokens.size() * static_cast<size_t>(m.hp.n_vocab));
  tf.forward(std::span<const BatchSeq>(&b, 1), kv, out.data());
  return out;
}

float max_abs(const std::vector<float>& v) {
  float m = 0;
  for (float x : v) m = std::max(m, std::fabs(x));
  return m;
}
float max_diff(const std::vector<float>& a, const std::vector<float>& b) {
  float m = 0;
  for (size_t i = 0; i < a.size(); ++i) m = std::max(m, std::fabs(a[i] - b[i]));
  return m;
}

const std::vector<int32_t> kTokens = {1, 5, 17, 33, 2, 90, 41, 8, 64, 12, 3, 77};

// Expects LoraAdapter::from_gguf to fail with a message holding every string of `parts`.
void expect_error(const TinyModel& m, const GgufWriter& adapter, std::initializer_list<std::string> parts) {
  const auto bytes = adapter.to_bytes();
  const auto f = parse(bytes);
  try {
    LoraAdapter::from_gguf(*f, m.hp, *m.file, "a", 1.0f);
    ADD_FAILURE() << "no error";
  } catch (const LoraAdapterError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("adapter.gguf"), std::string::npos) << msg;  // names the file
    for (const auto& p : parts) EXPECT_NE(msg.find(p), std::string::npos) << "missing '" << p << "' in: " << msg;
  }
}

// A valid one-tensor-pair adapter header, to which tests add (broken) tensors.
GgufWriter header(const std::string& arch = "llama") {
  GgufWriter w;
  w.set_string("general.architecture", arch);
  w.set_string("general.type", "adapter");
  w.set_string("adapter.type", "lora");
  w.set_f32("adapter.lora.alpha", 8.0f);
  return w;
}

void add_f32(GgufWriter& w, const std::string& name, int64_t ne0, int64_t ne1) {
  w.add_tensor_f32(name, {ne0, ne1}, std::vector<float>(static_cast<size_t>(ne0 * ne1), 0.01f));
}

}  // namespace

TEST(LoraAdapter, ParsesRandomAdapterAndComputesFactor) {
  TinyModel m(tiny_llama(GgmlType::F32).to_bytes());
  RandomLoraSpec spec;
  spec.rank = 4;
  spec.alpha = 16.0f;
  spec.targets = {LoraTarget::Q, LoraTarget::V, LoraTarget::Down};
  const auto bytes = make_random_lora(m.hp, spec).to_bytes();
  const auto f = parse(bytes);
  const LoraAdapter a = LoraAdapter::from_gguf(*f, m.hp, *m.file, "x", 0.5f);
  EXPECT_EQ(a.num_matrices(), 6u);  // 3 targets x 2 blocks
  ASSERT_NE(a.matrix(1, LoraTarget::Down), nullptr);
  EXPECT_EQ(a.matrix(0, LoraTarget::K), nullptr);
  EXPECT_FLOAT_EQ(a.matrix(0, LoraTarget::Q)->factor, 0.5f * 16.0f / 4.0f);
  EXPECT_EQ(a.matrix(1, LoraTarget::Down)->n_in, 128);
  EXPECT_NE(a.cache_key, 0u);
  EXPECT_EQ(a.bytes(), (2 * (4 * 64 + 64 * 4) + 2 * (4 * 64 + 32 * 4) + 2 * (4 * 128 + 64 * 4)) * sizeof(float));

  GgufWriter zero_alpha = make_random_lora(m.hp, spec);
  zero_alpha.set_f32("adapter.lora.alpha", 0.0f);
  const auto b2 = zero_alpha.to_bytes();
  const auto f2 = parse(b2);
  EXPECT_FLOAT_EQ(LoraAdapter::from_gguf(*f2, m.hp, *m.file, "x", 0.5f).matrix(0, LoraTarget::Q)->factor, 0.5f);
}

TEST(LoraAdapter, EveryMismatchIsAnErrorNamingFileAndTensor) {
  TinyModel m(tiny_llama(GgmlType::F32).to_bytes());
  const std::string q = "blk.0.attn_q.weight";
  {
    GgufWriter w = header();
    w.set_string("general.type", "model");
    add_f32(w, q + ".lora_a", 64, 4);
    add_f32(w, q + ".lora_b", 4, 64);
    expect_error(m, w, {"general.type", "'model'"});
  }
  {
    GgufWriter w = header();
    w.set_string("adapter.type", "control_vector");
    expect_error(m, w, {"adapter.type", "control_vector"});
  }
  {
    GgufWriter w = header("qwen2");
    add_f32(w, q + ".lora_a", 64, 4);
    add_f32(w, q + ".lora_b", 4, 64);
    expect_error(m, w, {"qwen2", "llama"});
  }
  {
    GgufWriter w = header();
    expect_error(m, w, {"no LoRA tensors"});
  }
  {
    GgufWriter w = header();
    add_f32(w, q + ".lora_a", 64, 4);
    expect_error(m, w, {q + ".lora_a", "no matching", q + ".lora_b"});
  }
  {
    GgufWriter w = header();
    add_f32(w, q + ".lora_b", 4, 64);
    expect_error(m, w, {q + ".lora_b", "no matching", q + ".lora_a"});
  }
  {
    GgufWriter w = header();
    add_f32(w, "blk.7.attn_q.weight.lora_a", 64, 4);
    add_f32(w, "blk.7.attn_q.weight.lora_b", 4, 64);
    expect_error(m, w, {"blk.7.attn_q.weight", "does not have"});
  }
  {
    GgufWriter w = header();
    add_f32(w, "token_embd.weight.lora_a", 64, 4);
    add_f32(w, "token_embd.weight.lora_b", 4, 96);
    expect_error(m, w, {"token_embd.weight", "only the attention and MLP projections"});
  }
  {
    GgufWriter w = header();
    add_f32(w, q + ".lora_a", 32, 4);  // A must take the 64 inputs of attn_q
    add_f32(w, q + ".lora_b", 4, 64);
    expect_error(m, w, {q + ".lora_a", "[32, 4]", "64 inputs"});
  }
  {
    GgufWriter w = header();
    add_f32(w, "blk.1.attn_k.weight.lora_a", 64, 4);
    add_f32(w, "blk.1.attn_k.weight.lora_b", 4, 64);  // attn_k has 32 outputs (GQA)
    expect_error(m, w, {"blk.1.attn_k.weight.lora_b", "[4, 64]", "32 outputs"});
  }
  {
    GgufWriter w = header();
    add_f32(w, q + ".lora_a", 64, 4);
    add_f32(w, q + ".lora_b", 8, 64);
    expect_error(m, w, {"ranks differ", q + ".lora_a", q + ".lora_b"});
  }
  {
    GgufWriter w = header();
    std::vector<float> a(64 * 32, 0.01f), b(32 * 64, 0.01f);
    std::vector<uint8_t> qa(ggml_row_size(GgmlType::Q4_0, 64) * 32), qb(ggml_row_size(GgmlType::Q4_0, 32) * 64);
    for (int r = 0; r < 32; ++r) quantize_row(GgmlType::Q4_0, &a[r * 64], &qa[r * ggml_row_size(GgmlType::Q4_0, 64)], 64);
    for (int r = 0; r < 64; ++r) quantize_row(GgmlType::Q4_0, &b[r * 32], &qb[r * ggml_row_size(GgmlType::Q4_0, 32)], 32);
    w.add_tensor(q + ".lora_a", GgmlType::Q4_0, {64, 32}, qa);
    w.add_tensor(q + ".lora_b", GgmlType::Q4_0, {32, 64}, qb);
    expect_error(m, w, {q + ".lora_a", "Q4_0", "F32, F16, BF16 or Q8_0"});
  }
  {
    GgufWriter w = header();
    add_f32(w, q + ".lora_a", 64, 4);
    add_f32(w, q + ".lora_b", 4, 64);
    add_f32(w, "blk.0.attn_q.weight.scale", 4, 1);
    expect_error(m, w, {"blk.0.attn_q.weight.scale", "neither"});
  }
}

TEST(LoraAdapter, MissingFileIsAnErrorNamingIt) {
  TinyModel m(tiny_llama(GgmlType::F32).to_bytes());
  try {
    LoraAdapter::load("/nonexistent/dir/my-adapter.gguf", m.hp, *m.file, "a", 1.0f);
    ADD_FAILURE() << "no error";
  } catch (const LoraAdapterError& e) {
    EXPECT_NE(std::string(e.what()).find("my-adapter.gguf"), std::string::npos) << e.what();
  }
}

// Runtime y = W x + f B A x against W' = W + f B A folded into the weights by merge_lora (F32
// out, so the only differences are float summation order). Tolerance: 1e-4 of the largest logit;
// the adapter itself moves the logits by far more (checked, so the test can fail).
class LoraRuntimeEqualsMerged : public ::testing::TestWithParam<GgmlType> {};

TEST_P(LoraRuntimeEqualsMerged, LogitsMatchWithinTolerance) {
  const fs::path dir = fs::temp_directory_path() / ("toolgate_lora_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  tiny_llama(GgmlType::F32).write(dir / "base.gguf");
  RandomLoraSpec spec;
  spec.type = GetParam();
  spec.rank = GetParam() == GgmlType::Q8_0 ? 32 : 8;  // Q8_0 rows (lora_b's rank) come in 32s
  spec.targets = {LoraTarget::Q, LoraTarget::K, LoraTarget::V, LoraTarget::O,
                  LoraTarget::Gate, LoraTarget::Up, LoraTarget::Down};
  spec.b_scale = 0.2f;
  make_random_lora(HParams::from_gguf(*GgufFile::parse(tiny_llama(GgmlType::F32).to_bytes(), "t")), spec)
      .write(dir / "adapter.gguf");
  const MergeLoraReport rep = merge_lora(dir / "base.gguf", dir / "adapter.gguf", 0.75f, MergedType::F32, dir / "merged.gguf");
  EXPECT_EQ(rep.tensors_merged, 14);
  EXPECT_GT(rep.update_rms, 0.0);
  EXPECT_LT(rep.error_rms, 1e-6 * rep.update_rms);  // F32 stores the sum exactly

  ThreadPool pool(2);
  auto base_file = GgufFile::open(dir / "base.gguf");
  HParams hp = HParams::from_gguf(*base_file);
  Weights bw = Weights::from_gguf(*base_file, hp);
  const LoraAdapter adapter = LoraAdapter::load(dir / "adapter.gguf", hp, *base_file, "a", 0.75f);
  auto run = [&](const Weights& w, const LoraAdapter* a) {
    Transformer tf(hp, w, pool, 64, 64, 256);
    KvStore kv(hp, 16, 16, KvDtype::F16);
    std::vector<int> table(16);
    std::iota(table.begin(), table.end(), 0);
    BatchSeq b{kTokens.data(), static_cast<int>(kTokens.size()), 0, table, BatchSeq::Logits::All, a};
    std::vector<float> out(kTokens.size() * static_cast<size_t>(hp.n_vocab));
    tf.forward(std::span<const BatchSeq>(&b, 1), kv, out.data());
    return out;
  };
  const auto base = run(bw, nullptr);
  const auto runtime = run(bw, &adapter);
  auto merged_file = GgufFile::open(dir / "merged.gguf");
  Weights mw = Weights::from_gguf(*merged_file, HParams::from_gguf(*merged_file));
  const auto merged = run(mw, nullptr);
  const float tol = 1e-4f * max_abs(merged);
  EXPECT_LT(max_diff(runtime, merged), tol);
  EXPECT_GT(max_diff(runtime, base), 100 * tol) << "the adapter should change the logits";
  fs::remove_all(dir);
}

INSTANTIATE_TEST_SUITE_P(AdapterTypes, LoraRuntimeEqualsMerged,
                         ::testing::Values(GgmlType::F32, GgmlType::F16, GgmlType::BF16, GgmlType::Q8_0),
                         [](const auto& info) { return std::string(ggml_type_name(info.param)); });

TEST(LoraMerge, QuantizedBaseKeepsItsTypeAndStaysClose) {
  const fs::path dir = fs::temp_directory_path() / ("toolgate_lora_q_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  tiny_llama(GgmlType::Q8_0).write(dir / "base.gguf");
  auto base_file = GgufFile::open(dir / "base.gguf");
  HParams hp = HParams::from_gguf(*base_file);
  RandomLoraSpec spec;
  spec.b_scale = 0.2f;
  make_random_lora(hp, spec).write(dir / "adapter.gguf");
  const MergeLoraReport rep =
      merge_lora(dir / "base.gguf", dir / "adapter.gguf", 1.0f, MergedType::Keep, dir / "merged.gguf");
  EXPECT_LT(rep.error_rms, 0.5 * rep.update_rms);  // Q8_0 keeps most of this update
  auto merged_file = GgufFile::open(dir / "merged.gguf");
  EXPECT_EQ(merged_file->require_tensor("blk.1.attn_q.weight").type, GgmlType::Q8_0);
  EXPECT_EQ(merged_file->require_tensor("blk.1.ffn_up.weight").type, GgmlType::Q8_0);
  EXPECT_EQ(merged_file->get_string("general.architecture"), "llama");

  ThreadPool pool(2);
  Weights bw = Weights::from_gguf(*base_file, hp);
  const LoraAdapter adapter = LoraAdapter::load(dir / "adapter.gguf", hp, *base_file, "a", 1.0f);
  Weights mw = Weights::from_gguf(*merged_file, HParams::from_gguf(*merged_file));
  auto run = [&](const Weights& w, const LoraAdapter* a) {
    Transformer tf(hp, w, pool, 64, 64, 256);
    KvStore kv(hp, 16, 16, KvDtype::F16);
    std::vector<int> table(16);
    std::iota(table.begin(), table.end(), 0);
    BatchSeq b{kTokens.data(), static_cast<int>(kTokens.size()), 0, table, BatchSeq::Logits::All, a};
    std::vector<float> out(kTokens.size() * static_cast<size_t>(hp.n_vocab));
    tf.forward(std::span<const BatchSeq>(&b, 1), kv, out.data());
    return out;
  };
  const auto base = run(bw, nullptr), runtime = run(bw, &adapter), merged = run(mw, nullptr);
  // Requantizing to Q8_0 adds ~0.4% relative rounding per weight: well under the adapter's effect.
  EXPECT_LT(max_diff(runtime, merged), 0.2f * max_diff(runtime, base));
  EXPECT_THROW(merge_lora(dir / "base.gguf", dir / "adapter.gguf", 1.0f, MergedType::Keep, dir / "base.gguf"),
               std::runtime_error);
  fs::remove_all(dir);
}

// A batch mixing the base and two adapters computes each row exactly as that sequence alone.
TEST(LoraRuntime, MixedBatchEqualsEachSequenceAlone) {
  TinyModel m(tiny_llama(GgmlType::F32).to_bytes());
  RandomLoraSpec s1, s2;
  s1.seed = 1;
  s2.seed = 2;
  s2.targets = {LoraTarget::Up, LoraTarget::Down, LoraTarget::V};
  const auto b1 = make_random_lora(m.hp, s1).to_bytes(), b2 = make_random_lora(m.hp, s2).to_bytes();
  const LoraAdapter a1 = LoraAdapter::from_gguf(*parse(b1), m.hp, *m.file, "one", 1.0f);
  const LoraAdapter a2 = LoraAdapter::from_gguf(*parse(b2), m.hp, *m.file, "two", 1.0f);
  ThreadPool pool(2);
  const std::vector<int32_t> t0 = {3, 4, 5, 6, 7}, t1 = {9, 8, 7}, t2 = {1, 2, 3, 4, 5, 6, 7, 8};
  const LoraAdapter* who[3] = {nullptr, &a1, &a2};
  const std::vector<int32_t>* toks[3] = {&t0, &t1, &t2};

  Transformer tf(m.hp, m.w, pool, 64, 64, 256);
  KvStore kv(m.hp, 16, 16, KvDtype::F16);
  std::vector<int> tables[3] = {{0, 1}, {2, 3}, {4, 5}};
  std::vector<BatchSeq> batch;
  for (int i = 0; i < 3; ++i)
    batch.push_back({toks[i]->data(), static_cast<int>(toks[i]->size()), 0, tables[i], BatchSeq::Logits::Last, who[i]});
  const size_t V = static_cast<size_t>(m.hp.n_vocab);
  std::vector<float> mixed(3 * V);
  tf.forward(batch, kv, mixed.data());
  for (int i = 0; i < 3; ++i) {
    const auto alone = logits_of(m, *toks[i], who[i], pool);
    for (size_t v = 0; v < V; ++v)
      ASSERT_FLOAT_EQ(mixed[i * V + v], alone[(toks[i]->size() - 1) * V + v]) << "sequence " << i << " token " << v;
  }
}

TEST(LoraPrefixCache, BlocksComputedUnderOneAdapterAreNeverAHitForAnother) {
  KvCacheManager kv(16, 4, true);
  const std::vector<int32_t> t = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
  auto prefill = [&](SeqId id, uint64_t key) {
    const CachedPrefix p = kv.find_cached_prefix(t, key);
    EXPECT_TRUE(kv.allocate(id, t, p.num_tokens, static_cast<int>(t.size()) - p.num_tokens, &p, key));
    kv.commit(id, t, static_cast<int>(t.size()));
    return p.num_tokens;
  };
  EXPECT_EQ(prefill(1, 0), 0);
  EXPECT_EQ(kv.find_cached_prefix(t, 0).num_tokens, 8);  // base finds base
  EXPECT_EQ(kv.find_cached_prefix(t, 11).num_tokens, 0);  // adapter 11 does not
  EXPECT_EQ(prefill(2, 11), 0);
  EXPECT_EQ(kv.find_cached_prefix(t, 11).num_tokens, 8);  // now it finds its own
  EXPECT_EQ(kv.find_cached_prefix(t, 12).num_tokens, 0);
  EXPECT_NE(kv.block_table(1)[0], kv.block_table(2)[0]);
  kv.check_invariants();
}

// ---- The real default model ---------------------------------------------------------------

namespace {

struct Gen {
  std::vector<int32_t> ids;
  std::vector<float> logprobs;
  FinishEvent finish;
};

Gen generate(Engine& e, const std::vector<int32_t>& prompt, const std::string& adapter, int n = 12) {
  std::promise<Gen> done;
  auto fut = done.get_future();
  auto g = std::make_shared<Gen>();
  GenerationRequest r;
  r.prompt = prompt;
  r.max_tokens = n;
  r.sampling.temperature = 0;
  r.sampling.logprobs = true;
  r.adapter = adapter;
  r.on_token = [g](TokenEvent&& ev) {
    if (ev.id >= 0) {
      g->ids.push_back(ev.id);
      g->logprobs.push_back(ev.logprob);
    }
  };
  r.on_finish = [g, &done](FinishEvent&& f) {
    g->finish = f;
    done.set_value(*g);
  };
  e.submit(std::move(r));
  return fut.get();
}

}  // namespace

class LoraDefaultModel : public ::testing::Test {
 protected:
  void SetUp() override {
    if (toolgate::testing::default_model().empty()) GTEST_SKIP() << "default model not fetched";
    dir_ = fs::temp_directory_path() / ("toolgate_lora_m_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    auto base = GgufFile::open(toolgate::testing::default_model());
    const HParams hp = HParams::from_gguf(*base);
    for (uint64_t seed : {1, 2}) {
      RandomLoraSpec s;
      s.seed = seed;
      s.type = GgmlType::F16;
      s.b_scale = 0.5f;
      make_random_lora(hp, s).write(dir_ / ("r" + std::to_string(seed) + ".gguf"));
    }
  }
  void TearDown() override {
    if (!dir_.empty()) fs::remove_all(dir_);
  }
  std::unique_ptr<Engine> engine(bool with_adapters) {
    EngineOptions o;
    o.kv_budget_bytes = 64ull << 20;
    o.max_num_seqs = 8;
    o.context_length = 512;
    o.threads = 2;
    if (with_adapters) o.adapters = {{"r1", dir_ / "r1.gguf", 1.0f}, {"r2", dir_ / "r2.gguf", 1.0f}};
    return Engine::create(toolgate::testing::default_model(), o);
  }
  fs::path dir_;
};

TEST_F(LoraDefaultModel, BaseIsBitForBitWithAdaptersLoadedButUnused) {
  auto plain = engine(false);
  auto loaded = engine(true);
  const auto prompt = plain->tokenizer().encode("The capital of France is", false, true);
  const Gen a = generate(*plain, prompt, "");
  const Gen b = generate(*loaded, prompt, "");
  EXPECT_EQ(a.ids, b.ids);
  ASSERT_EQ(a.logprobs.size(), b.logprobs.size());
  for (size_t i = 0; i < a.logprobs.size(); ++i) EXPECT_EQ(a.logprobs[i], b.logprobs[i]) << "token " << i;
  ASSERT_EQ(loaded->model().adapters.size(), 2u);
  EXPECT_GT(loaded->model().adapters[0].bytes, 0u);
}

TEST_F(LoraDefaultModel, AdapterChangesTheAnswerAndNeverSharesPrefixCacheWithBase) {
  auto e = engine(true);
  std::vector<int32_t> prompt = e->tokenizer().encode(
      "A long shared system prompt that spans several KV blocks so that the prefix cache has full "
      "blocks to offer to the next request with the same tokens. Question: what is two plus two?",
      false, true);
  const Gen base1 = generate(*e, prompt, "");
  const Gen base2 = generate(*e, prompt, "");
  EXPECT_GT(base2.finish.cached_prompt_tokens, 0);  // base reuses base
  const Gen r1 = generate(*e, prompt, "r1");
  EXPECT_EQ(r1.finish.cached_prompt_tokens, 0);  // an adapter never reuses base K/V
  const Gen r1b = generate(*e, prompt, "r1");
  EXPECT_GT(r1b.finish.cached_prompt_tokens, 0);  // but reuses its own
  EXPECT_EQ(r1.ids, r1b.ids);
  const Gen r2 = generate(*e, prompt, "r2");
  EXPECT_EQ(r2.finish.cached_prompt_tokens, 0);
  EXPECT_NE(r1.logprobs, base1.logprobs);
  EXPECT_NE(r1.logprobs, r2.logprobs);
  EXPECT_THROW(generate(*e, prompt, "nope"), EngineError);
}

TEST_F(LoraDefaultModel, BadAdapterFailsEngineStartNamingFileAndTensor) {
  EngineOptions o;
  o.kv_budget_bytes = 16ull << 20;
  o.context_length = 256;
  o.threads = 1;
  // An adapter made for the tiny test model: its shapes do not fit SmolLM2.
  TinyModel m(tiny_llama(GgmlType::F32).to_bytes());
  make_random_lora(m.hp, RandomLoraSpec{}).write(dir_ / "tiny-adapter.gguf");
  o.adapters = {{"bad", dir_ / "tiny-adapter.gguf", 1.0f}};
  try {
    Engine::create(toolgate::testing::default_model(), o);
    ADD_FAILURE() << "no error";
  } catch (const std::exception& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("tiny-adapter.gguf"), std::string::npos) << msg;
    EXPECT_NE(msg.find("blk.0.attn_"), std::string::npos) << msg;
  }
}
