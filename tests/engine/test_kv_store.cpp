// KvStore's memory commitment: lazy by default (a page becomes resident when a block first uses
// it), all at once with preallocate() (engine.kv_preallocate), so that a server's RSS is flat.
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <string>

#include "engine/model/kv_store.h"

using namespace toolgate::engine;

namespace {

// Anonymous resident memory of this process, from /proc/self/status (kB).
long rss_anon_kib() {
  std::ifstream f("/proc/self/status");
  std::string key;
  long value = -1;
  while (f >> key) {
    if (key == "RssAnon:") {
      f >> value;
      return value;
    }
    f.ignore(4096, '\n');
  }
  return value;
}

HParams small_model() {
  HParams hp;
  hp.architecture = "llama";
  hp.n_layer = 4;
  hp.n_embd = 256;
  hp.n_head = 4;
  hp.n_head_kv = 4;
  hp.head_dim = 64;
  return hp;
}

}  // namespace

TEST(KvStore, CommitsMemoryOnlyWhenUsedUnlessPreallocated) {
  ASSERT_GT(rss_anon_kib(), 0) << "no RssAnon in /proc/self/status";
  const HParams hp = small_model();
  // 4 layers x (K + V) x 16 slots x 256 f16 = 64 KiB per block; 1024 blocks = 64 MiB.
  KvStore lazy(hp, 1024, 16, KvDtype::F16);
  const long before = rss_anon_kib();
  KvStore eager(hp, 1024, 16, KvDtype::F16);
  ASSERT_EQ(eager.bytes(), 64u << 20);
  const long constructed = rss_anon_kib();
  EXPECT_LT(constructed - before, 16 * 1024) << "a new store should not be resident yet";
  eager.preallocate();
  const long committed = rss_anon_kib();
  EXPECT_GE(committed - constructed, 60 * 1024) << "preallocate() should make the whole store resident";
  // The lazy store's pages follow its use: one block written, a few pages more.
  std::memset(lazy.rows(0, 0, 0), 1, lazy.row_bytes() * 16);
  EXPECT_LT(rss_anon_kib() - committed, 1024);
}
