#include <gtest/gtest.h>

#include "config/byte_size.h"

namespace toolgate::config {
namespace {

struct SizeCase {
  const char* text;
  uint64_t bytes;
};

TEST(ByteSize, ParsesNumbersWithDecimalAndBinaryUnits) {
  const SizeCase cases[] = {
      {"0", 0},
      {"4096", 4096},
      {"512B", 512},
      {"1KB", 1000},
      {"1GB", 1000ull * 1000 * 1000},
      {"2TB", 2000ull * 1000 * 1000 * 1000},
      {"1KiB", 1024},
      {"512MiB", 512ull << 20},
      {"2GiB", 2ull << 30},
      {"1TiB", 1ull << 40},
      {"64M", 64ull << 20},
      {"1g", 1ull << 30},
      {"512mib", 512ull << 20},
      {"1.5GiB", 3ull << 29},
      {"0.5KB", 500},
      {" 256 MiB ", 256ull << 20},
      {"18446744073709551615", UINT64_MAX},
  };
  for (const auto& c : cases) {
    std::string error;
    const auto bytes = parse_byte_size(c.text, &error);
    ASSERT_TRUE(bytes.has_value()) << c.text << ": " << error;
    EXPECT_EQ(*bytes, c.bytes) << c.text;
  }
}

TEST(ByteSize, RejectsWhatIsNotASizeAndSaysWhy) {
  const std::pair<const char*, const char*> cases[] = {
      {"", "empty size"},
      {"lots", "no number"},
      {"-1GB", "size must not be negative"},
      {"12XB", "unknown unit 'XB' (use B, KB, MB, GB, TB, KiB, MiB, GiB or TiB)"},
      {"1.2.3", "unknown unit '.3' (use B, KB, MB, GB, TB, KiB, MiB, GiB or TiB)"},
      {"18446744073709551616", "too large"},
      {"20000000TiB", "too large"},
      {"99999999999999999999.5GB", "too large"},
  };
  for (const auto& [text, why] : cases) {
    std::string error;
    EXPECT_FALSE(parse_byte_size(text, &error).has_value()) << text;
    EXPECT_EQ(error, why) << text;
  }
}

TEST(ByteSize, FormatsTheShortestExactSpellingThatParsesBack) {
  EXPECT_EQ(format_byte_size(0), "0");
  EXPECT_EQ(format_byte_size(1000), "1000");
  EXPECT_EQ(format_byte_size(4ull << 20), "4MiB");
  EXPECT_EQ(format_byte_size(3ull << 29), "1536MiB");
  EXPECT_EQ(format_byte_size(1ull << 40), "1TiB");
  for (uint64_t v : {uint64_t{1}, uint64_t{1023}, uint64_t{1024}, uint64_t{5} << 30, UINT64_MAX}) {
    EXPECT_EQ(parse_byte_size(format_byte_size(v)), v) << v;
  }
}

}  // namespace
}  // namespace toolgate::config
