#include "gateway/model_file_facts.h"

#include <openssl/evp.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <thread>
#include <variant>

#include "engine/gguf.h"

namespace toolgate::gateway {

std::string gguf_file_type_name(int64_t t) {
  static const std::map<int64_t, const char*> kNames = {
      {0, "F32"},     {1, "F16"},     {2, "Q4_0"},    {3, "Q4_1"},    {7, "Q8_0"},
      {8, "Q5_0"},    {9, "Q5_1"},    {10, "Q2_K"},   {11, "Q3_K_S"}, {12, "Q3_K_M"},
      {13, "Q3_K_L"}, {14, "Q4_K_S"}, {15, "Q4_K_M"}, {16, "Q5_K_S"}, {17, "Q5_K_M"},
      {18, "Q6_K"},   {19, "IQ2_XXS"}, {20, "IQ2_XS"}, {21, "Q2_K_S"}, {22, "IQ3_XS"},
      {23, "IQ3_XXS"}, {24, "IQ1_S"}, {25, "IQ4_NL"}, {26, "IQ3_S"}, {27, "IQ3_M"},
      {28, "IQ2_S"},  {29, "IQ2_M"},  {30, "IQ4_XS"}, {31, "IQ1_M"},  {32, "BF16"},
      {36, "TQ1_0"},  {37, "TQ2_0"},  {38, "MXFP4"}};
  auto it = kNames.find(t);
  return it == kNames.end() ? "unknown" : it->second;
}

std::string parameter_size_text(int64_t n) {
  char buf[32];
  const double v = static_cast<double>(n);
  if (v >= 1e9)
    std::snprintf(buf, sizeof buf, "%.2fB", v / 1e9);
  else if (v >= 1e6)
    std::snprintf(buf, sizeof buf, "%.2fM", v / 1e6);
  else
    std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(n));
  std::string s = buf;
  // "1.50B" -> "1.5B", "2.00B" -> "2B", as Ollama prints them.
  auto dot = s.find('.');
  if (dot != std::string::npos) {
    size_t unit = s.size() - 1;
    size_t end = unit;
    while (end > dot + 1 && s[end - 1] == '0') --end;
    if (end == dot + 1) end = dot;
    s = s.substr(0, end) + s.substr(unit);
  }
  return s;
}

std::string sha256_file_hex(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr);
  std::vector<char> buf(1 << 20);
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    if (in.gcount() > 0) EVP_DigestUpdate(ctx.get(), buf.data(), static_cast<size_t>(in.gcount()));
  }
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx.get(), md, &len);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < len; ++i) {
    out += kHex[md[i] >> 4];
    out += kHex[md[i] & 15];
  }
  return out;
}

namespace {

nlohmann::json value_json(const engine::GgufValue& v) {
  return std::visit(
      [](const auto& x) -> nlohmann::json {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, engine::GgufArray>) {
          return nullptr;  // vocabularies and merges: as Ollama without `verbose`
        } else {
          return x;
        }
      },
      v.value);
}

std::shared_ptr<ModelFileFacts> read_facts(const std::string& path) {
  auto f = std::make_shared<ModelFileFacts>();
  f->path = path;
  f->size = std::filesystem::file_size(path);
  const auto mtime = std::filesystem::last_write_time(path);
  const auto as_system = std::chrono::system_clock::now() +
                         std::chrono::duration_cast<std::chrono::system_clock::duration>(
                             mtime - std::filesystem::file_time_type::clock::now());
  f->modified_unix =
      std::chrono::duration_cast<std::chrono::seconds>(as_system.time_since_epoch()).count();
  auto file = engine::GgufFile::open(path);
  f->architecture = file->get_string("general.architecture").value_or("");
  f->quantization_level = gguf_file_type_name(file->get_int("general.file_type").value_or(-1));
  for (const auto& key : file->keys())
    if (const auto* v = file->find(key)) f->model_info[key] = value_json(*v);
  std::promise<std::string> promise;
  f->sha256 = promise.get_future().share();
  std::thread([path, promise = std::move(promise)]() mutable {
    try {
      promise.set_value(sha256_file_hex(path));
    } catch (...) {
      promise.set_exception(std::current_exception());
    }
  }).detach();
  return f;
}

}  // namespace

std::shared_ptr<const ModelFileFacts> ModelFileFacts::of(const std::string& path) {
  static std::mutex mu;
  static std::map<std::string, std::shared_ptr<const ModelFileFacts>> cache;
  std::lock_guard lock(mu);
  auto& slot = cache[path];
  if (!slot) slot = read_facts(path);
  return slot;
}

}  // namespace toolgate::gateway
