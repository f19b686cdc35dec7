#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <string>

#include "engine/ggml_type.h"
#include "engine/gguf.h"
#include "test_paths.h"

using namespace toolgate::engine;

namespace {

// Writes GGUF images byte by byte, so tests can build valid files and break them on purpose.
class GgufBuilder {
 public:
  GgufBuilder& header(uint32_t version = 3, uint64_t n_tensors = 0, uint64_t n_kv = 0) {
    u32(0x46554747);
    u32(version);
    u64(n_tensors);
    u64(n_kv);
    return *this;
  }
  GgufBuilder& str(const std::string& s) {
    u64(s.size());
    bytes.insert(bytes.end(), s.begin(), s.end());
    return *this;
  }
  GgufBuilder& u32(uint32_t v) { return raw(&v, 4); }
  GgufBuilder& u64(uint64_t v) { return raw(&v, 8); }
  GgufBuilder& f32(float v) { return raw(&v, 4); }
  GgufBuilder& kv_u32(const std::string& k, uint32_t v) { return str(k).u32(4).u32(v); }
  GgufBuilder& kv_str(const std::string& k, const std::string& v) { return str(k).u32(8).str(v); }
  GgufBuilder& tensor(const std::string& name, std::vector<int64_t> dims, uint32_t type, uint64_t off) {
    str(name).u32(static_cast<uint32_t>(dims.size()));
    for (int64_t d : dims) u64(static_cast<uint64_t>(d));
    return u32(type).u64(off);
  }
  GgufBuilder& align(size_t a = 32) {
    while (bytes.size() % a) bytes.push_back(0);
    return *this;
  }
  GgufBuilder& raw(const void* p, size_t n) {
    auto* b = static_cast<const uint8_t*>(p);
    bytes.insert(bytes.end(), b, b + n);
    return *this;
  }
  std::vector<uint8_t> bytes;
};

std::vector<uint8_t> valid_image() {
  GgufBuilder b;
  b.header(3, 1, 2).kv_str("general.architecture", "llama").kv_u32("llama.block_count", 2);
  b.tensor("w", {4, 2}, 0, 0).align();
  for (int i = 0; i < 8; ++i) b.f32(static_cast<float>(i));
  return b.bytes;
}

std::string parse_error(const std::vector<uint8_t>& img) {
  try {
    GgufFile::parse(img, "bad.gguf");
  } catch (const GgufError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(Gguf, ParsesMetadataAndZeroCopyTensorViews) {
  auto img = valid_image();
  auto f = GgufFile::parse(img, "mem.gguf");
  EXPECT_EQ(f->version(), 3u);
  EXPECT_EQ(f->get_string("general.architecture"), "llama");
  EXPECT_EQ(f->get_int("llama.block_count"), 2);
  const GgufTensor& t = f->require_tensor("w");
  EXPECT_EQ(t.ne[0], 4);
  EXPECT_EQ(t.ne[1], 2);
  EXPECT_EQ(t.nbytes, 32u);
  EXPECT_GE(t.data, img.data());
  EXPECT_LT(t.data, img.data() + img.size());  // a view, not a copy
  float last;
  std::memcpy(&last, t.data + 28, 4);
  EXPECT_EQ(last, 7.0f);
}

TEST(Gguf, WrongTypeGetterNamesTheKey) {
  auto img = valid_image();
  auto f = GgufFile::parse(img, "mem.gguf");
  EXPECT_THROW(f->get_int("general.architecture"), GgufError);
  EXPECT_FALSE(f->get_int("missing.key").has_value());
  EXPECT_THROW(f->require_tensor("nope"), GgufError);
}

TEST(Gguf, RejectsBadMagic) {
  auto img = valid_image();
  img[0] = 'X';
  EXPECT_NE(parse_error(img).find("bad magic"), std::string::npos);
}

TEST(Gguf, RejectsUnsupportedVersion) {
  GgufBuilder b;
  b.header(7);
  EXPECT_NE(parse_error(b.bytes).find("unsupported GGUF version 7"), std::string::npos);
}

TEST(Gguf, EveryTruncationIsAnErrorNotACrash) {
  auto img = valid_image();
  for (size_t n = 0; n < img.size(); ++n) {
    std::vector<uint8_t> cut(img.begin(), img.begin() + static_cast<long>(n));
    std::string err = parse_error(cut);
    EXPECT_NE(err, "") << "truncated at " << n;
    EXPECT_NE(err.find("bad.gguf"), std::string::npos);
  }
}

TEST(Gguf, RejectsTensorDataOutsideFile) {
  GgufBuilder b;
  b.header(3, 1, 0).tensor("w", {4, 2}, 0, 1024).align();
  for (int i = 0; i < 8; ++i) b.f32(0);
  EXPECT_NE(parse_error(b.bytes).find("outside the file"), std::string::npos);
}

TEST(Gguf, RejectsUnknownTensorType) {
  GgufBuilder b;
  b.header(3, 1, 0).tensor("w", {32}, 99, 0).align();
  EXPECT_NE(parse_error(b.bytes).find("unknown or unsupported type 99"), std::string::npos);
}

TEST(Gguf, RejectsAbsurdDimensionsAndCounts) {
  GgufBuilder b;
  b.header(3, 1, 0).tensor("w", {int64_t(1) << 50}, 0, 0);
  EXPECT_NE(parse_error(b.bytes).find("absurd dimension"), std::string::npos);
  GgufBuilder c;
  c.header(3, uint64_t(1) << 40, 0);
  EXPECT_NE(parse_error(c.bytes).find("tensor count"), std::string::npos);
  GgufBuilder d;
  d.header(3, 0, 1).str("k").u32(8).u64(uint64_t(1) << 62);
  EXPECT_NE(parse_error(d.bytes).find("absurd"), std::string::npos);
}

// Found by fuzz_gguf: a 343-byte file declaring a 2^28-element array made the reader reserve
// 2.6 GB before reading a single element. Counts must fit in the bytes that follow.
TEST(Gguf, RejectsCountsLargerThanTheFileBeforeAllocating) {
  GgufBuilder a;
  a.header(3, 0, 1).str("k").u32(9).u32(10 /*U64*/).u64(uint64_t(1) << 27).u64(7);
  EXPECT_NE(parse_error(a.bytes).find("array length 134217728 exceeds what the file holds"), std::string::npos);
  GgufBuilder s;
  s.header(3, 0, 1).str("k").u32(9).u32(8 /*STRING*/).u64(1000).str("only one");
  EXPECT_NE(parse_error(s.bytes).find("array length 1000 exceeds"), std::string::npos);
  GgufBuilder t;
  t.header(3, 1u << 19, 0).tensor("w", {32}, 0, 0);
  EXPECT_NE(parse_error(t.bytes).find("tensor count 524288 exceeds"), std::string::npos);
  // Exactly as many elements as there are bytes for still parses.
  GgufBuilder ok;
  ok.header(3, 0, 1).str("k").u32(9).u32(0 /*U8*/).u64(3).raw("abc", 3);
  auto file = GgufFile::parse(ok.bytes, "ok.gguf");
  EXPECT_EQ(file->get_array("k")->size(), 3u);
}

TEST(Gguf, RejectsRowLengthNotMultipleOfBlock) {
  GgufBuilder b;
  b.header(3, 1, 0).tensor("w", {33}, 8 /*Q8_0*/, 0).align();
  EXPECT_NE(parse_error(b.bytes).find("not a multiple"), std::string::npos);
}

TEST(Gguf, RejectsUnknownMetadataTypeAndNestedArrays) {
  GgufBuilder b;
  b.header(3, 0, 1).str("k").u32(42);
  EXPECT_NE(parse_error(b.bytes).find("unknown metadata value type 42"), std::string::npos);
  GgufBuilder c;
  c.header(3, 0, 1).str("k").u32(9).u32(9).u64(1);
  EXPECT_NE(parse_error(c.bytes).find("nested"), std::string::npos);
}

TEST(Gguf, RandomByteCorruptionNeverCrashes) {
  auto img = valid_image();
  uint32_t state = 12345;
  for (int iter = 0; iter < 5000; ++iter) {
    auto bad = img;
    for (int k = 0; k < 3; ++k) {
      state = state * 1664525u + 1013904223u;
      bad[(state >> 8) % bad.size()] = static_cast<uint8_t>(state >> 24);
    }
    try {
      GgufFile::parse(bad, "fuzz.gguf");
    } catch (const GgufError&) {
    }
  }
}

TEST(Gguf, OpensMissingFileWithClearError) {
  try {
    GgufFile::open("/nonexistent/model.gguf");
    FAIL();
  } catch (const GgufError& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/model.gguf"), std::string::npos);
  }
}

TEST(Gguf, OpensTheRealDefaultModel) {
  auto path = toolgate::testing::default_model();
  if (path.empty()) GTEST_SKIP() << "default model not fetched";
  auto f = GgufFile::open(path);
  EXPECT_EQ(f->get_string("general.architecture"), "llama");
  EXPECT_EQ(f->get_int("llama.block_count"), 30);
  EXPECT_EQ(f->tensors().size(), 272u);
  EXPECT_EQ(f->get_string_array("tokenizer.ggml.tokens")->size(), 49152u);
  EXPECT_EQ(f->require_tensor("token_embd.weight").type, GgmlType::Q8_0);
  EXPECT_EQ(f->require_tensor("blk.0.attn_q.weight").type, GgmlType::Q4_1);
}

TEST(Gguf, WarmReadsTheWholeFileWithMonotonicProgress) {
  auto path = toolgate::testing::default_model();
  if (path.empty()) GTEST_SKIP() << "default model not fetched";
  auto f = GgufFile::open(path);
  std::vector<std::pair<uint64_t, uint64_t>> calls;
  f->warm([&](uint64_t done, uint64_t total) { calls.emplace_back(done, total); });
  ASSERT_GE(calls.size(), 2u);  // 98 MB in 16 MiB chunks
  for (size_t i = 0; i < calls.size(); ++i) {
    EXPECT_EQ(calls[i].second, f->file_size());
    if (i) {
      EXPECT_GT(calls[i].first, calls[i - 1].first);
    }
  }
  EXPECT_EQ(calls.back().first, f->file_size());
  // The pages are resident now: mincore reports every page of the mapping in memory.
  EXPECT_EQ(f->resident_bytes(), f->file_size());
}

namespace {
// This process's resident set (VmRSS) in bytes.
uint64_t rss_bytes() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stoull(line.substr(6)) * 1024;
  return 0;
}
}  // namespace

TEST(Gguf, ReleasedTensorPagesLeaveRssAndReadBackUnchanged) {
  auto path = toolgate::testing::default_model();
  if (path.empty()) GTEST_SKIP() << "default model not fetched";
  auto f = GgufFile::open(path);
  const GgufTensor& t = f->require_tensor("token_embd.weight");  // 28 MiB of Q8_0
  const size_t bytes = ggml_row_size(t.type, t.ne[0]) * static_cast<size_t>(t.rows());
  const auto* p = static_cast<const uint8_t*>(t.data);
  auto checksum = [&] {
    uint64_t s = 0;
    for (size_t i = 0; i < bytes; ++i) s = s * 31 + p[i];
    return s;
  };
  const uint64_t before = checksum();  // every page of the tensor mapped in
  const uint64_t rss_mapped = rss_bytes();
  f->release_pages(t.data, bytes);
  const uint64_t rss_released = rss_bytes();
  EXPECT_LT(rss_released + bytes / 2, rss_mapped)
      << "mapped " << rss_mapped << " released " << rss_released;
  EXPECT_EQ(checksum(), before);  // faulted back in from the page cache
}
