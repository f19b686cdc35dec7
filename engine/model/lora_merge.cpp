#include "engine/model/lora_merge.h"

#include <cmath>
#include <cstring>
#include <stdexcept>

#include "engine/gguf.h"
#include "engine/gguf_writer.h"
#include "engine/kernels/dequant.h"
#include "engine/model/hparams.h"
#include "engine/model/lora_adapter.h"

namespace toolgate::engine {
namespace {

GgmlType stored_type(GgmlType base, MergedType want) {
  switch (want) {
    case MergedType::F16: return GgmlType::F16;
    case MergedType::F32: return GgmlType::F32;
    case MergedType::Keep: break;
  }
  switch (base) {
    case GgmlType::F32: case GgmlType::F16: case GgmlType::BF16: case GgmlType::Q4_0: case GgmlType::Q4_1:
    case GgmlType::Q5_0: case GgmlType::Q5_1: case GgmlType::Q8_0: case GgmlType::Q4_K: case GgmlType::Q5_K:
    case GgmlType::Q6_K:
      return base;
    default:
      return GgmlType::F16;  // a type the engine cannot write: the documented fallback
  }
}

// W (n_out rows of n_in) + m.factor * B A, row by row, into `type`. Adds the squared update and
// the squared storage error to the sums.
std::vector<uint8_t> merged_tensor(const GgufTensor& w, const LoraMatrix& m, GgmlType type, double& update_sq,
                                   double& error_sq) {
  const int64_t n_in = w.ne[0], n_out = w.ne[1];
  const size_t in_row = ggml_row_size(w.type, n_in), out_row = ggml_row_size(type, n_in);
  std::vector<uint8_t> out(out_row * static_cast<size_t>(n_out));
  std::vector<float> row(static_cast<size_t>(n_in)), orig(row.size()), back(row.size());
  for (int64_t o = 0; o < n_out; ++o) {
    dequantize_row(w.type, w.data + in_row * o, row.data(), n_in);
    orig = row;
    for (int i = 0; i < m.rank; ++i) {
      const float c = m.factor * m.b_t[size_t(i) * n_out + o];
      const float* a = &m.a[size_t(i) * n_in];
      for (int64_t j = 0; j < n_in; ++j) row[j] += c * a[j];
    }
    uint8_t* dst = out.data() + out_row * o;
    quantize_row(type, row.data(), dst, n_in);
    dequantize_row(type, dst, back.data(), n_in);
    for (int64_t j = 0; j < n_in; ++j) {
      update_sq += double(row[j] - orig[j]) * double(row[j] - orig[j]);
      error_sq += double(back[j] - row[j]) * double(back[j] - row[j]);
    }
  }
  return out;
}

}  // namespace

MergeLoraReport merge_lora(const std::filesystem::path& base_path, const std::filesystem::path& adapter_path,
                           float scale, MergedType type, const std::filesystem::path& out) {
  if (std::filesystem::exists(out) && std::filesystem::equivalent(out, base_path))
    throw std::runtime_error(out.string() + ": refusing to overwrite the base model");
  const auto base = GgufFile::open(base_path);
  const HParams hp = HParams::from_gguf(*base);
  const LoraAdapter adapter = LoraAdapter::load(adapter_path, hp, *base, "merge", scale);

  GgufWriter w;
  for (const std::string& key : base->keys()) {
    if (key == "general.alignment") continue;  // the writer aligns to the default 32
    w.set_value(key, *base->find(key));
  }
  w.set_string("general.name", base->get_string("general.name").value_or("model") + " + " +
                                   adapter_path.stem().string());

  MergeLoraReport report;
  double update_sq = 0, error_sq = 0;
  for (const GgufTensor& t : base->tensors()) {
    std::vector<int64_t> ne(t.ne.begin(), t.ne.begin() + t.n_dims);
    const LoraMatrix* m = nullptr;
    for (int l = 0; l < hp.n_layer && !m; ++l)
      for (int k = 0; k < kLoraTargets && !m; ++k) {
        const LoraMatrix* c = adapter.matrix(l, static_cast<LoraTarget>(k));
        if (c && t.name == "blk." + std::to_string(l) + "." + lora_target_name(static_cast<LoraTarget>(k)) + ".weight")
          m = c;
      }
    if (m) {
      const GgmlType ty = stored_type(t.type, type);
      w.add_tensor(t.name, ty, std::move(ne), merged_tensor(t, *m, ty, update_sq, error_sq));
      ++report.tensors_merged;
    } else {
      w.add_tensor(t.name, t.type, std::move(ne), std::vector<uint8_t>(t.data, t.data + t.nbytes));
      ++report.tensors_copied;
    }
  }
  if (report.tensors_merged != static_cast<int>(adapter.num_matrices()))
    throw std::logic_error("merge-lora: not every adapter tensor found its base tensor");
  report.update_rms = std::sqrt(update_sq);
  report.error_rms = std::sqrt(error_sq);
  w.write(out);
  report.bytes_written = std::filesystem::file_size(out);
  return report;
}

}  // namespace toolgate::engine
