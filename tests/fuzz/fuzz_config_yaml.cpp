// The YAML deployment config loader: any text either loads or yields issues with positions;
// a config that loads prints back (config print) and that text loads again.
#include "config/config_loader.h"
#include "config/config_printer.h"

using namespace toolgate::config;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ValidationContext ctx;
  ctx.check_files = false;  // model files and plugins named by the text need not exist
  std::string_view text(reinterpret_cast<const char*>(data), size);
  LoadResult r = load_config_string(text, "fuzz.yaml", ctx);
  if (!r.ok()) {
    if (r.issues.empty()) std::abort();
    (void)r.error_text();
    return 0;
  }
  (void)validate_config(*r.config, ctx);
  LoadResult again = load_config_string(to_yaml(*r.config, PrintOptions{.mask_secrets = false}), "printed.yaml", ctx);
  if (!again.ok()) {
    std::fprintf(stderr, "%s\n", again.error_text().c_str());
    std::abort();
  }
  return 0;
}
