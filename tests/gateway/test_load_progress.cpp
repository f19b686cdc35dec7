// The model-load progress bar: its line, and that it draws only on a terminal.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>

#include "gateway/load_progress.h"

namespace toolgate::gateway {
namespace {

std::string read_all(std::FILE* f) {
  std::fflush(f);
  std::rewind(f);
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  return out;
}

TEST(LoadProgressLine, ShowsStageShareAndMegabytesWhileReading) {
  const uint64_t mib = 1 << 20;
  EXPECT_EQ(load_progress_line("qwen", {"reading", 512 * mib, 1024 * mib}, 10),
            "qwen  reading   [#####.....]  50%  512/1024 MiB");
  EXPECT_EQ(load_progress_line("m", {"preparing", 0, 4}, 4), "m  preparing [....]   0%");
  EXPECT_EQ(load_progress_line("m", {"preparing", 4, 4}, 4), "m  preparing [####] 100%");
  // Out-of-range input is clamped, never overflows the bar.
  EXPECT_EQ(load_progress_line("m", {"preparing", 9, 4}, 4), "m  preparing [####] 100%");
  EXPECT_EQ(load_progress_line("m", {"preparing", 0, 0}, 4), "m  preparing [####] 100%");
}

TEST(LoadProgressBar, DrawsInPlaceAndErasesItselfOnATerminal) {
  std::FILE* f = std::tmpfile();
  ASSERT_NE(f, nullptr);
  {
    LoadProgressBar bar("m", f, /*interactive=*/true);
    bar.update({"reading", 0, 100});
    bar.update({"reading", 0, 100});  // same percent: not redrawn
    bar.update({"reading", 100, 100});
    bar.update({"preparing", 1, 1});
  }  // destructor erases
  const std::string out = read_all(f);
  std::fclose(f);
  EXPECT_EQ(out.find('\n'), std::string::npos) << "a bar never scrolls the terminal";
  EXPECT_NE(out.find("reading   [..............................]   0%"), std::string::npos) << out;
  EXPECT_NE(out.find("reading   [##############################] 100%"), std::string::npos) << out;
  EXPECT_NE(out.find("preparing [##############################] 100%"), std::string::npos) << out;
  // Every draw starts by returning to column 0 and clearing the line; the last write erases.
  EXPECT_EQ(out.rfind("\r\033[K"), out.size() - 4);
  size_t draws = 0;
  for (size_t at = out.find("\r\033[K"); at != std::string::npos; at = out.find("\r\033[K", at + 1))
    ++draws;
  EXPECT_EQ(draws, 4u);  // three draws + the erase
}

TEST(LoadProgressBar, WritesNothingWhenNotATerminal) {
  std::FILE* f = std::tmpfile();
  ASSERT_NE(f, nullptr);
  {
    LoadProgressBar bar("m", f, /*interactive=*/false);
    bar.update({"reading", 50, 100});
    bar.finish();
  }
  EXPECT_EQ(read_all(f), "");
  EXPECT_FALSE(is_terminal(f));
  std::fclose(f);
}

}  // namespace
}  // namespace toolgate::gateway
