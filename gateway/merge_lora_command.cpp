#include "gateway/merge_lora_command.h"

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "engine/model/lora_merge.h"

namespace toolgate::gateway {
namespace {

constexpr const char* kUsage =
    "usage: toolgate merge-lora BASE.gguf ADAPTER.gguf OUT.gguf [--scale S] [--type keep|f16|f32]\n"
    "Writes OUT.gguf: BASE with the LoRA ADAPTER folded into its weights (W + scale*alpha/r*B*A).\n"
    "--type keep (default): adapted tensors keep their type (quantized ones are requantized);\n"
    "f16 / f32: adapted tensors are stored in that float type. Other tensors are copied as is.\n";

int usage_error(const std::string& message) {
  std::fprintf(stderr, "toolgate merge-lora: %s\n%s", message.c_str(), kUsage);
  return 2;
}

}  // namespace

int run_merge_lora_command(int argc, char** argv) {
  std::vector<std::string> files;
  float scale = 1.0f;
  engine::MergedType type = engine::MergedType::Keep;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--help" || a == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    }
    if (a == "--scale" || a == "--type") {
      if (i + 1 >= argc) return usage_error(a + " needs a value");
      const std::string v = argv[++i];
      if (a == "--scale") {
        char* end = nullptr;
        scale = std::strtof(v.c_str(), &end);
        if (v.empty() || *end != '\0') return usage_error("--scale expects a number, got '" + v + "'");
      } else if (v == "keep") {
        type = engine::MergedType::Keep;
      } else if (v == "f16") {
        type = engine::MergedType::F16;
      } else if (v == "f32") {
        type = engine::MergedType::F32;
      } else {
        return usage_error("--type expects keep, f16 or f32, got '" + v + "'");
      }
      continue;
    }
    if (a.rfind("--", 0) == 0) return usage_error("unknown flag " + a);
    files.push_back(a);
  }
  if (files.size() != 3) return usage_error("expected BASE, ADAPTER and OUT");
  try {
    const auto r = engine::merge_lora(files[0], files[1], scale, type, files[2]);
    const double lost = r.update_rms > 0 ? r.error_rms / r.update_rms : 0.0;
    std::printf("wrote %s: %d tensors merged, %d copied, %.1f MiB; storage error %.2f x the adapter's update\n",
                files[2].c_str(), r.tensors_merged, r.tensors_copied, static_cast<double>(r.bytes_written) / (1 << 20),
                lost);
    if (lost > 0.5)
      std::fprintf(stderr,
                   "toolgate merge-lora: warning: requantizing to the base's type rounds away much of the "
                   "adapter's update (error %.2f x the update); --type f16 keeps it\n",
                   lost);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "toolgate merge-lora: %s\n", e.what());
    return 1;
  }
}

}  // namespace toolgate::gateway
