#include "engine/gguf.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <vector>

namespace toolgate::engine {
namespace {

constexpr uint32_t kMagic = 0x46554747;  // "GGUF" little-endian
constexpr uint64_t kMaxStringLen = 1ull << 30;
constexpr uint64_t kMaxArrayLen = 1ull << 28;
constexpr uint64_t kMaxTensors = 1ull << 20;
constexpr uint64_t kMaxKv = 1ull << 20;
constexpr int64_t kMaxDim = int64_t(1) << 40;

// Bounds-checked little-endian cursor over the mapped bytes.
class Cursor {
 public:
  Cursor(std::span<const uint8_t> bytes, const std::string& name) : bytes_(bytes), name_(name) {}

  template <typename T>
  T read(const char* what) {
    need(sizeof(T), what);
    T v;
    std::memcpy(&v, bytes_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }
  std::string read_string(const char* what) {
    uint64_t n = read<uint64_t>(what);
    if (n > kMaxStringLen) fail(std::string(what) + ": string length " + std::to_string(n) + " is absurd");
    need(n, what);
    std::string s(reinterpret_cast<const char*>(bytes_.data() + pos_), n);
    pos_ += n;
    return s;
  }
  size_t pos() const { return pos_; }
  size_t remaining() const { return bytes_.size() - pos_; }
  // A count read from the file must fit in the bytes left, at `min_bytes` per item, before
  // anything is reserved for it: a few bytes must not make the reader allocate gigabytes.
  void check_count(uint64_t n, size_t min_bytes, const char* what) const {
    if (n > remaining() / min_bytes)
      fail(std::string(what) + " " + std::to_string(n) + " exceeds what the file holds");
  }
  [[noreturn]] void fail(const std::string& msg) const {
    throw GgufError(name_ + ": " + msg + " (at byte " + std::to_string(pos_) + ")");
  }

 private:
  void need(uint64_t n, const char* what) const {
    if (n > bytes_.size() - pos_) fail(std::string("truncated file while reading ") + what);
  }
  std::span<const uint8_t> bytes_;
  const std::string& name_;
  size_t pos_ = 0;
};

GgufValueType checked_type(Cursor& c, uint32_t t) {
  if (t > static_cast<uint32_t>(GgufValueType::F64)) c.fail("unknown metadata value type " + std::to_string(t));
  return static_cast<GgufValueType>(t);
}

GgufValue read_scalar(Cursor& c, GgufValueType t) {
  switch (t) {
    case GgufValueType::U8: return {t, uint64_t(c.read<uint8_t>("u8"))};
    case GgufValueType::I8: return {t, int64_t(c.read<int8_t>("i8"))};
    case GgufValueType::U16: return {t, uint64_t(c.read<uint16_t>("u16"))};
    case GgufValueType::I16: return {t, int64_t(c.read<int16_t>("i16"))};
    case GgufValueType::U32: return {t, uint64_t(c.read<uint32_t>("u32"))};
    case GgufValueType::I32: return {t, int64_t(c.read<int32_t>("i32"))};
    case GgufValueType::U64: return {t, c.read<uint64_t>("u64")};
    case GgufValueType::I64: return {t, c.read<int64_t>("i64")};
    case GgufValueType::F32: return {t, double(c.read<float>("f32"))};
    case GgufValueType::F64: return {t, c.read<double>("f64")};
    case GgufValueType::BOOL: {
      uint8_t b = c.read<uint8_t>("bool");
      if (b > 1) c.fail("bool value " + std::to_string(b) + " is neither 0 nor 1");
      return {t, b == 1};
    }
    case GgufValueType::STRING: return {t, c.read_string("string value")};
    case GgufValueType::ARRAY: break;
  }
  c.fail("unexpected value type");
}

// Bytes one element takes in the file at least (a string: its 8-byte length).
size_t encoded_size(GgufValueType t) {
  switch (t) {
    case GgufValueType::U8: case GgufValueType::I8: case GgufValueType::BOOL: return 1;
    case GgufValueType::U16: case GgufValueType::I16: return 2;
    case GgufValueType::U32: case GgufValueType::I32: case GgufValueType::F32: return 4;
    default: return 8;
  }
}

GgufArray read_array(Cursor& c) {
  GgufArray arr;
  arr.element_type = checked_type(c, c.read<uint32_t>("array type"));
  uint64_t n = c.read<uint64_t>("array length");
  if (n > kMaxArrayLen) c.fail("array length " + std::to_string(n) + " is absurd");
  if (arr.element_type != GgufValueType::ARRAY) c.check_count(n, encoded_size(arr.element_type), "array length");
  switch (arr.element_type) {
    case GgufValueType::ARRAY: c.fail("nested arrays are not supported");
    case GgufValueType::STRING: {
      std::vector<std::string> v;
      v.reserve(n);
      for (uint64_t i = 0; i < n; ++i) v.push_back(c.read_string("array string"));
      arr.values = std::move(v);
      break;
    }
    case GgufValueType::F32:
    case GgufValueType::F64: {
      std::vector<double> v;
      v.reserve(n);
      for (uint64_t i = 0; i < n; ++i) v.push_back(std::get<double>(read_scalar(c, arr.element_type).value));
      arr.values = std::move(v);
      break;
    }
    case GgufValueType::U64: {
      std::vector<uint64_t> v;
      v.reserve(n);
      for (uint64_t i = 0; i < n; ++i) v.push_back(c.read<uint64_t>("u64"));
      arr.values = std::move(v);
      break;
    }
    default: {  // smaller integers and bools widen to int64
      std::vector<int64_t> v;
      v.reserve(n);
      for (uint64_t i = 0; i < n; ++i) {
        GgufValue x = read_scalar(c, arr.element_type);
        if (auto* p = std::get_if<int64_t>(&x.value)) v.push_back(*p);
        else if (auto* u = std::get_if<uint64_t>(&x.value)) v.push_back(static_cast<int64_t>(*u));
        else v.push_back(std::get<bool>(x.value) ? 1 : 0);
      }
      arr.values = std::move(v);
    }
  }
  return arr;
}

}  // namespace

size_t GgufArray::size() const {
  return std::visit([](const auto& v) { return v.size(); }, values);
}

std::unique_ptr<GgufFile> GgufFile::open(const std::filesystem::path& path) {
  const std::string name = path.string();
  int fd = ::open(name.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw GgufError(name + ": cannot open: " + std::strerror(errno));
  struct stat st {};
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    throw GgufError(name + ": not a regular file");
  }
  size_t size = static_cast<size_t>(st.st_size);
  if (size < 24) {
    ::close(fd);
    throw GgufError(name + ": file too small to be GGUF (" + std::to_string(size) + " bytes)");
  }
  void* map = mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0);
  ::close(fd);
  if (map == MAP_FAILED) throw GgufError(name + ": mmap failed: " + std::strerror(errno));
  std::unique_ptr<GgufFile> f(new GgufFile());
  f->name_ = name;
  f->map_ = map;
  f->map_size_ = size;
  f->bytes_ = std::span<const uint8_t>(static_cast<const uint8_t*>(map), size);
  f->parse_all();
  return f;
}

std::unique_ptr<GgufFile> GgufFile::parse(std::span<const uint8_t> bytes, std::string name) {
  std::unique_ptr<GgufFile> f(new GgufFile());
  f->name_ = std::move(name);
  f->bytes_ = bytes;
  f->parse_all();
  return f;
}

void GgufFile::release_pages(const void* data, size_t bytes) const {
  if (!map_ || bytes == 0) return;
  const auto page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  const auto lo = reinterpret_cast<uintptr_t>(data), hi = lo + bytes;
  const auto base = reinterpret_cast<uintptr_t>(map_);
  if (lo < base || hi > base + map_size_) return;
  const uintptr_t first = (lo + page - 1) / page * page, last = hi / page * page;
  if (first < last) madvise(reinterpret_cast<void*>(first), last - first, MADV_DONTNEED);
}

GgufFile::~GgufFile() {
  if (map_) munmap(map_, map_size_);
}

uint64_t GgufFile::resident_bytes() const {
  if (!map_) return bytes_.size();
  const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  std::vector<unsigned char> in_core((map_size_ + page - 1) / page);
  if (::mincore(map_, map_size_, in_core.data()) != 0) return 0;
  uint64_t pages = 0;
  for (unsigned char c : in_core) pages += c & 1;
  return std::min<uint64_t>(pages * page, map_size_);
}

void GgufFile::warm(const std::function<void(uint64_t, uint64_t)>& progress) const {
  constexpr size_t kChunk = size_t{16} << 20;
  constexpr size_t kPage = 4096;
  const size_t total = bytes_.size();
  volatile unsigned sink = 0;  // the reads must not be optimised away
  for (size_t at = 0; at < total; at += kChunk) {
    const size_t n = std::min(kChunk, total - at);
    // Ask the kernel to read ahead the next chunk while this one is touched.
    if (map_ && at + n < total) {
      const size_t next = std::min(kChunk, total - at - n);
      auto* base = static_cast<uint8_t*>(map_) + at + n;
      ::madvise(base, next, MADV_WILLNEED);
    }
    const volatile uint8_t* p = bytes_.data() + at;
    unsigned sum = 0;
    for (size_t i = 0; i < n; i += kPage) sum += p[i];
    sink = sink + sum;
    if (progress) progress(at + n, total);
  }
}

void GgufFile::parse_all() {
  Cursor c(bytes_, name_);
  if (c.read<uint32_t>("magic") != kMagic) c.fail("bad magic: not a GGUF file");
  version_ = c.read<uint32_t>("version");
  if (version_ != 2 && version_ != 3) c.fail("unsupported GGUF version " + std::to_string(version_));
  uint64_t n_tensors = c.read<uint64_t>("tensor count");
  uint64_t n_kv = c.read<uint64_t>("metadata count");
  if (n_tensors > kMaxTensors) c.fail("tensor count " + std::to_string(n_tensors) + " is absurd");
  if (n_kv > kMaxKv) c.fail("metadata count " + std::to_string(n_kv) + " is absurd");

  for (uint64_t i = 0; i < n_kv; ++i) {
    std::string key = c.read_string("metadata key");
    GgufValueType t = checked_type(c, c.read<uint32_t>("metadata type"));
    GgufValue v = t == GgufValueType::ARRAY ? GgufValue{t, read_array(c)} : read_scalar(c, t);
    if (kv_.count(key)) c.fail("duplicate metadata key '" + key + "'");
    keys_.push_back(key);
    kv_.emplace(std::move(key), std::move(v));
  }

  struct Pending {
    uint64_t offset;
  };
  std::vector<Pending> offsets;
  // A tensor entry: name length (8), dimension count (4), one dimension (8), type (4), offset (8).
  c.check_count(n_tensors, 32, "tensor count");
  tensors_.reserve(n_tensors);
  for (uint64_t i = 0; i < n_tensors; ++i) {
    GgufTensor t;
    t.name = c.read_string("tensor name");
    uint32_t n_dims = c.read<uint32_t>("tensor dims");
    if (n_dims == 0 || n_dims > 4) c.fail("tensor '" + t.name + "' has " + std::to_string(n_dims) + " dimensions");
    t.n_dims = static_cast<int>(n_dims);
    int64_t total = 1;
    for (uint32_t d = 0; d < n_dims; ++d) {
      int64_t ne = c.read<int64_t>("tensor shape");
      if (ne <= 0 || ne > kMaxDim) c.fail("tensor '" + t.name + "' has absurd dimension " + std::to_string(ne));
      if (total > kMaxDim / ne) c.fail("tensor '" + t.name + "' has too many elements");
      total *= ne;
      t.ne[d] = ne;
    }
    uint32_t type = c.read<uint32_t>("tensor type");
    auto traits = ggml_type_traits(type);
    if (!traits) c.fail("tensor '" + t.name + "' has unknown or unsupported type " + std::to_string(type));
    t.type = static_cast<GgmlType>(type);
    if (t.ne[0] % traits->block_size != 0)
      c.fail("tensor '" + t.name + "' row length " + std::to_string(t.ne[0]) + " is not a multiple of the " +
             std::string(traits->name) + " block size");
    t.nbytes = static_cast<size_t>(total / traits->block_size) * traits->type_size;
    offsets.push_back({c.read<uint64_t>("tensor offset")});
    if (tensor_index_.count(t.name)) c.fail("duplicate tensor name '" + t.name + "'");
    tensor_index_.emplace(t.name, tensors_.size());
    tensors_.push_back(std::move(t));
  }

  uint64_t alignment = 32;
  if (auto a = get_int("general.alignment")) {
    if (*a <= 0 || (*a & (*a - 1)) != 0) c.fail("general.alignment " + std::to_string(*a) + " is not a power of two");
    alignment = static_cast<uint64_t>(*a);
  }
  uint64_t data_start = (c.pos() + alignment - 1) / alignment * alignment;
  if (n_tensors > 0 && data_start > bytes_.size()) c.fail("truncated file: tensor data section missing");
  for (size_t i = 0; i < tensors_.size(); ++i) {
    GgufTensor& t = tensors_[i];
    uint64_t off = offsets[i].offset;
    if (off % alignment != 0) c.fail("tensor '" + t.name + "' offset is not aligned");
    if (off > bytes_.size() - data_start || t.nbytes > bytes_.size() - data_start - off)
      c.fail("tensor '" + t.name + "' data [" + std::to_string(off) + ", +" + std::to_string(t.nbytes) +
             ") lies outside the file (truncated?)");
    t.data = bytes_.data() + data_start + off;
  }
}

const GgufValue* GgufFile::find(std::string_view key) const {
  auto it = kv_.find(std::string(key));
  return it == kv_.end() ? nullptr : &it->second;
}

std::optional<std::string> GgufFile::get_string(std::string_view key) const {
  const GgufValue* v = find(key);
  if (!v) return std::nullopt;
  if (auto* s = std::get_if<std::string>(&v->value)) return *s;
  throw GgufError(name_ + ": metadata '" + std::string(key) + "' is not a string");
}

std::optional<int64_t> GgufFile::get_int(std::string_view key) const {
  const GgufValue* v = find(key);
  if (!v) return std::nullopt;
  if (auto* i = std::get_if<int64_t>(&v->value)) return *i;
  if (auto* u = std::get_if<uint64_t>(&v->value)) {
    if (*u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
      throw GgufError(name_ + ": metadata '" + std::string(key) + "' is out of range");
    return static_cast<int64_t>(*u);
  }
  throw GgufError(name_ + ": metadata '" + std::string(key) + "' is not an integer");
}

std::optional<double> GgufFile::get_float(std::string_view key) const {
  const GgufValue* v = find(key);
  if (!v) return std::nullopt;
  if (auto* d = std::get_if<double>(&v->value)) return *d;
  if (auto* i = std::get_if<int64_t>(&v->value)) return static_cast<double>(*i);
  if (auto* u = std::get_if<uint64_t>(&v->value)) return static_cast<double>(*u);
  throw GgufError(name_ + ": metadata '" + std::string(key) + "' is not a number");
}

std::optional<bool> GgufFile::get_bool(std::string_view key) const {
  const GgufValue* v = find(key);
  if (!v) return std::nullopt;
  if (auto* b = std::get_if<bool>(&v->value)) return *b;
  throw GgufError(name_ + ": metadata '" + std::string(key) + "' is not a bool");
}

const GgufArray* GgufFile::get_array(std::string_view key) const {
  const GgufValue* v = find(key);
  if (!v) return nullptr;
  if (auto* a = std::get_if<GgufArray>(&v->value)) return a;
  throw GgufError(name_ + ": metadata '" + std::string(key) + "' is not an array");
}

const std::vector<std::string>* GgufFile::get_string_array(std::string_view key) const {
  const GgufArray* a = get_array(key);
  if (!a) return nullptr;
  if (auto* s = std::get_if<std::vector<std::string>>(&a->values)) return s;
  throw GgufError(name_ + ": metadata '" + std::string(key) + "' is not an array of strings");
}

const GgufTensor* GgufFile::tensor(std::string_view name) const {
  auto it = tensor_index_.find(std::string(name));
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

const GgufTensor& GgufFile::require_tensor(std::string_view name) const {
  if (const GgufTensor* t = tensor(name)) return *t;
  throw GgufError(name_ + ": required tensor '" + std::string(name) + "' is missing");
}

}  // namespace toolgate::engine
