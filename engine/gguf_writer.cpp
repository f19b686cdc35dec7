#include "engine/gguf_writer.h"

#include <cstring>
#include <fstream>
#include <stdexcept>

namespace toolgate::engine {
namespace {

constexpr uint64_t kAlignment = 32;

class Out {
 public:
  explicit Out(std::vector<uint8_t>& b) : b_(b) {}
  template <class T>
  void pod(T v) {
    const auto* p = reinterpret_cast<const uint8_t*>(&v);
    b_.insert(b_.end(), p, p + sizeof(T));
  }
  void str(const std::string& s) {
    pod<uint64_t>(s.size());
    b_.insert(b_.end(), s.begin(), s.end());
  }
  void pad() {
    while (b_.size() % kAlignment) b_.push_back(0);
  }

 private:
  std::vector<uint8_t>& b_;
};


template <class V>
void put_number(Out& o, GgufValueType t, V v) {
  switch (t) {
    case GgufValueType::U8: o.pod<uint8_t>(static_cast<uint8_t>(v)); break;
    case GgufValueType::I8: o.pod<int8_t>(static_cast<int8_t>(v)); break;
    case GgufValueType::U16: o.pod<uint16_t>(static_cast<uint16_t>(v)); break;
    case GgufValueType::I16: o.pod<int16_t>(static_cast<int16_t>(v)); break;
    case GgufValueType::U32: o.pod<uint32_t>(static_cast<uint32_t>(v)); break;
    case GgufValueType::I32: o.pod<int32_t>(static_cast<int32_t>(v)); break;
    case GgufValueType::U64: o.pod<uint64_t>(static_cast<uint64_t>(v)); break;
    case GgufValueType::I64: o.pod<int64_t>(static_cast<int64_t>(v)); break;
    case GgufValueType::F32: o.pod<float>(static_cast<float>(v)); break;
    case GgufValueType::F64: o.pod<double>(static_cast<double>(v)); break;
    case GgufValueType::BOOL: o.pod<uint8_t>(v != 0 ? 1 : 0); break;
    default: throw std::invalid_argument("GgufWriter: not a numeric type");
  }
}

void put_value(Out& o, const GgufValue& v) {
  o.pod<uint32_t>(static_cast<uint32_t>(v.type));
  if (v.type == GgufValueType::STRING) return o.str(std::get<std::string>(v.value));
  if (v.type == GgufValueType::ARRAY) {
    const GgufArray& a = std::get<GgufArray>(v.value);
    o.pod<uint32_t>(static_cast<uint32_t>(a.element_type));
    o.pod<uint64_t>(a.size());
    std::visit(
        [&](const auto& vec) {
          for (const auto& x : vec) {
            if constexpr (std::is_same_v<std::decay_t<decltype(x)>, std::string>) o.str(x);
            else put_number(o, a.element_type, x);
          }
        },
        a.values);
    return;
  }
  std::visit(
      [&](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, bool>) o.pod<uint8_t>(x ? 1 : 0);
        else if constexpr (std::is_arithmetic_v<T>) put_number(o, v.type, x);
        else throw std::invalid_argument("GgufWriter: value does not match its type");
      },
      v.value);
}

}  // namespace

void GgufWriter::put(std::string key, GgufValue value) {
  for (auto& [k, v] : kv_)
    if (k == key) {
      v = std::move(value);
      return;
    }
  kv_.emplace_back(std::move(key), std::move(value));
}

void GgufWriter::set_string(std::string key, std::string value) {
  put(std::move(key), GgufValue{GgufValueType::STRING, std::move(value)});
}
void GgufWriter::set_u32(std::string key, uint32_t value) {
  put(std::move(key), GgufValue{GgufValueType::U32, uint64_t{value}});
}
void GgufWriter::set_f32(std::string key, float value) {
  put(std::move(key), GgufValue{GgufValueType::F32, double{value}});
}
void GgufWriter::set_bool(std::string key, bool value) { put(std::move(key), GgufValue{GgufValueType::BOOL, value}); }
void GgufWriter::set_strings(std::string key, std::vector<std::string> values) {
  put(std::move(key), GgufValue{GgufValueType::ARRAY, GgufArray{GgufValueType::STRING, std::move(values)}});
}
void GgufWriter::set_value(std::string key, GgufValue value) { put(std::move(key), std::move(value)); }

void GgufWriter::add_tensor(std::string name, GgmlType type, std::vector<int64_t> ne, std::vector<uint8_t> bytes) {
  if (ne.empty() || ne.size() > 4) throw std::invalid_argument("GgufWriter: tensor '" + name + "' needs 1-4 dims");
  int64_t rows = 1;
  for (size_t i = 1; i < ne.size(); ++i) rows *= ne[i];
  if (ggml_row_size(type, ne[0]) * static_cast<size_t>(rows) != bytes.size())
    throw std::invalid_argument("GgufWriter: tensor '" + name + "' data size does not match its shape");
  tensors_.push_back(Tensor{std::move(name), type, std::move(ne), std::move(bytes)});
}

void GgufWriter::add_tensor_f32(std::string name, std::vector<int64_t> ne, const std::vector<float>& values) {
  std::vector<uint8_t> bytes(values.size() * sizeof(float));
  std::memcpy(bytes.data(), values.data(), bytes.size());
  add_tensor(std::move(name), GgmlType::F32, std::move(ne), std::move(bytes));
}

std::vector<uint8_t> GgufWriter::to_bytes() const {
  std::vector<uint8_t> b;
  Out o(b);
  o.pod<uint32_t>(0x46554747);  // "GGUF"
  o.pod<uint32_t>(3);
  o.pod<uint64_t>(tensors_.size());
  o.pod<uint64_t>(kv_.size());
  for (const auto& [k, v] : kv_) {
    o.str(k);
    put_value(o, v);
  }
  uint64_t offset = 0;
  for (const Tensor& t : tensors_) {
    o.str(t.name);
    o.pod<uint32_t>(static_cast<uint32_t>(t.ne.size()));
    for (int64_t n : t.ne) o.pod<uint64_t>(static_cast<uint64_t>(n));
    o.pod<uint32_t>(static_cast<uint32_t>(t.type));
    o.pod<uint64_t>(offset);
    offset += (t.bytes.size() + kAlignment - 1) / kAlignment * kAlignment;
  }
  o.pad();
  for (const Tensor& t : tensors_) {
    b.insert(b.end(), t.bytes.begin(), t.bytes.end());
    o.pad();
  }
  return b;
}

void GgufWriter::write(const std::filesystem::path& path) const {
  const std::vector<uint8_t> bytes = to_bytes();
  const std::filesystem::path tmp = path.string() + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    if (!f) throw std::runtime_error(path.string() + ": cannot open for writing");
    f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    if (!f) throw std::runtime_error(path.string() + ": write failed");
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) throw std::runtime_error(path.string() + ": " + ec.message());
}

}  // namespace toolgate::engine
