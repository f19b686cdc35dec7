// The JSON-schema recognizer used for constrained decoding: a schema (any JSON) is compiled,
// then text is fed byte by byte. Input: options byte (bit 0: object root, as for tool arguments
// and json_object), schema text, NUL, text. Whatever the recognizer accepts to the end, with the
// root value complete, must be JSON.
#include <nlohmann/json.hpp>

#include "engine/constrained/compiled_schema.h"
#include "engine/constrained/json_recognizer.h"
#include "fuzz_input.h"

using namespace toolgate;
using namespace toolgate::engine::constrained;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::FuzzInput in = fuzz::split_input(data, size);
  auto schema = nlohmann::ordered_json::parse(in.first, nullptr, /*allow_exceptions=*/false);
  if (schema.is_discarded()) return 0;
  std::shared_ptr<const CompiledSchema> compiled;
  try {
    compiled = compile_schema(schema, in.options & 1);
  } catch (const std::exception&) {
    return 0;  // refused schema: a 400 naming the problem
  }
  if (!compiled->root) return 0;
  JsonRecognizer recognizer;
  recognizer.start(compiled->root);
  size_t accepted = 0;
  for (char c : in.second) {
    JsonRecognizer copy = recognizer;  // the decoder tries bytes on copies
    if (copy.feed(static_cast<uint8_t>(c)) == JsonRecognizer::Result::Reject) break;
    recognizer = copy;
    ++accepted;
    (void)recognizer.in_plain_string();
  }
  if (accepted == in.second.size() && accepted > 0 && recognizer.can_end() &&
      !nlohmann::json::accept(in.second))
    fuzz::invariant_failed("the recognizer accepted text that is not JSON");
  return 0;
}
