#include <gtest/gtest.h>

#include "config/did_you_mean.h"

namespace toolgate::config {
namespace {

TEST(EditDistance, CountsInsertionsDeletionsSubstitutionsAndTranspositions) {
  EXPECT_EQ(edit_distance("port", "port"), 0u);
  EXPECT_EQ(edit_distance("prot", "port"), 1u);  // transposition
  EXPECT_EQ(edit_distance("kv-dtype", "kv_dtype"), 1u);
  EXPECT_EQ(edit_distance("", "abc"), 3u);
  EXPECT_EQ(edit_distance("kitten", "sitting"), 3u);
}

TEST(ClosestMatch, SuggestsOnlyPlausibleTypos) {
  const std::vector<std::string> keys = {"host", "port", "io_threads", "max_body_bytes"};
  EXPECT_EQ(closest_match("prot", keys), "port");
  EXPECT_EQ(closest_match("Port", keys), "port");
  EXPECT_EQ(closest_match("io_thread", keys), "io_threads");
  EXPECT_EQ(closest_match("max_bdoy_byte", keys), "max_body_bytes");
  EXPECT_EQ(closest_match("foo", keys), std::nullopt);
  EXPECT_EQ(closest_match("completely_different", keys), std::nullopt);
}

}  // namespace
}  // namespace toolgate::config
