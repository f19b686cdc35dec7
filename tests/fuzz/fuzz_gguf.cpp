// A GGUF image (any bytes): header, metadata key/values and the tensor table, read from memory
// with the same parser GgufFile::open runs over the mapped file; then every accessor, and the
// tokenizer a file's tokenizer.ggml.* metadata describes (a model file is untrusted input too).
#include <span>

#include "engine/gguf.h"
#include "engine/tokenizer.h"

using namespace toolgate::engine;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::unique_ptr<GgufFile> file;
  try {
    file = GgufFile::parse(std::span<const uint8_t>(data, size), "fuzz.gguf");
  } catch (const GgufError&) {
    return 0;
  }
  for (const std::string& key : file->keys()) {
    const GgufValue* v = file->find(key);
    if (!v) std::abort();  // every listed key is findable
    try {
      (void)file->get_string(key);
    } catch (const GgufError&) {
    }
    try {
      (void)file->get_int(key);
    } catch (const GgufError&) {
    }
    try {
      (void)file->get_float(key);
    } catch (const GgufError&) {
    }
    try {
      (void)file->get_bool(key);
    } catch (const GgufError&) {
    }
    try {
      if (const GgufArray* a = file->get_array(key)) (void)a->size();
      (void)file->get_string_array(key);
    } catch (const GgufError&) {
    }
  }
  for (const GgufTensor& t : file->tensors()) {
    // Tensor views must lie inside the image.
    const uint8_t* end = data + size;
    if (t.nbytes > 0 && (t.data < data || t.data > end || t.nbytes > size_t(end - t.data)))
      std::abort();
    if (file->tensor(t.name) == nullptr) std::abort();
    (void)t.n_elements();
  }
  try {
    auto tokenizer = Tokenizer::from_gguf(*file);
    auto ids = tokenizer->encode("Hello <|im_start|>world 123", true, true);
    (void)tokenizer->decode(ids, true);
  } catch (const std::exception&) {
    // Unsupported or inconsistent tokenizer metadata: the model fails to load with a message.
  }
  return 0;
}
