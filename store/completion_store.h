#pragma once
// Stored chat completions in SQLite (WAL). Knows nothing of HTTP: rows in, rows out.
//
// Threads: every write (insert, metadata update, delete, retention sweep) goes through one
// writer thread with a queue; the writer commits whatever has queued up in one transaction
// (group commit) and then calls each write's callback on the writer thread. Callers never
// wait for the disk unless they choose to (update()/remove() block on a future: call them
// from a worker thread, never from an I/O thread or the engine). Reads run on the caller's
// thread with a connection from a small pool of read-only connections; WAL lets them proceed
// while the writer commits.
//
// Durability: WAL with synchronous=NORMAL. A committed transaction survives the process being
// killed (kill -9) because it is in the WAL file before COMMIT returns; only a power loss can
// take the last transactions (never corrupt the file).
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace toolgate::store {

class SqliteDb;

using Metadata = std::map<std::string, std::string>;

struct StoredCompletion {
  std::string id;     // the completion's id ("chatcmpl-…")
  std::string owner;  // SHA-256 hex of the creating API key; "" on an open server
  std::string model;
  int64_t created = 0;  // unix seconds
  Metadata metadata;
  std::string request_json;   // {"messages":[…], "tools":[…], …}
  std::string response_json;  // the chat.completion object
};

// The store cannot serve the operation (locked, full disk, I/O error): a 503 at the edge.
class StoreUnavailable : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct ListQuery {
  std::optional<std::string> owner;  // unset: every owner (export only)
  std::optional<std::string> model;
  Metadata metadata;                 // every pair must match
  std::optional<int64_t> since;      // created >= since
  std::optional<std::string> after;  // id of the last item of the previous page
  int limit = 20;
  bool descending = false;
};

struct ListPage {
  std::vector<StoredCompletion> items;
  bool has_more = false;
  bool after_not_found = false;  // `after` named no completion this owner can see
};

enum class WriteResult { Ok, NotFound, Failed };

struct StoreOptions {
  std::string path;
  int reader_connections = 4;
  int busy_timeout_ms = 2000;
  int retention_days = 0;            // 0 = keep forever
  size_t max_queued_writes = 10000;  // beyond this, writes fail at once (logged)
  // Cap on the database file (SQLite's max_page_count); 0 = none. Past it, writes fail as on a
  // full disk (SQLITE_FULL).
  uint64_t max_bytes = 0;
};

// Latency of committed writes, from enqueue to commit, over the last 4096 writes.
struct WriteLatency {
  double p50_ms = 0, p99_ms = 0, max_ms = 0;
  uint64_t count = 0;   // writes committed since start
  uint64_t failed = 0;  // writes that failed
};

class CompletionStore {
 public:
  // Opens or creates the database, runs migrations, starts the writer. Throws
  // StoreUnavailable when the file cannot be opened or migrated.
  explicit CompletionStore(StoreOptions options);
  ~CompletionStore();  // drains the queue, then stops the writer
  CompletionStore(const CompletionStore&) = delete;
  CompletionStore& operator=(const CompletionStore&) = delete;

  // Queues an insert; `done` runs on the writer thread after the commit (or the failure).
  void insert(StoredCompletion completion, std::function<void(WriteResult)> done = {});
  // Blocking (through the writer): replaces the metadata of `id` if `owner` owns it.
  WriteResult update_metadata(const std::string& owner, const std::string& id, Metadata metadata);
  WriteResult remove(const std::string& owner, const std::string& id);
  // Deletes completions older than the retention (if any); also run by the writer hourly.
  WriteResult sweep_retention();
  // Waits until every write queued so far has been committed or has failed.
  void flush();

  // Reads (blocking, any thread). Throw StoreUnavailable.
  std::optional<StoredCompletion> get(const std::string& owner, const std::string& id);
  ListPage list(const ListQuery& query);
  // Every completion matching (ignores after/limit), in creation order.
  void for_each(const ListQuery& query, const std::function<void(const StoredCompletion&)>& f);

  WriteLatency write_latency() const;
  const std::string& path() const { return options_.path; }

 private:
  struct WriteOp;
  class ReaderLease;
  void writer_loop();
  void commit_batch(std::vector<WriteOp>& batch);
  WriteResult apply(WriteOp& op);
  WriteResult submit_and_wait(WriteOp op);
  void enqueue(WriteOp op);
  ReaderLease lease_reader();
  void record_latency(double ms);
  void record_failure();

  StoreOptions options_;
  std::unique_ptr<SqliteDb> writer_db_;

  std::mutex queue_mu_;
  std::condition_variable queue_cv_;
  std::condition_variable idle_cv_;
  std::deque<WriteOp> queue_;
  size_t in_flight_ = 0;  // ops taken by the writer, not yet completed
  bool stopping_ = false;
  bool sweep_retention_now_ = false;  // writer thread only (set before it starts)
  std::thread writer_;

  std::mutex readers_mu_;
  std::condition_variable readers_cv_;
  std::vector<std::unique_ptr<SqliteDb>> idle_readers_;
  int readers_open_ = 0;

  mutable std::mutex latency_mu_;
  std::vector<double> latencies_;  // ring
  size_t latency_next_ = 0;
  uint64_t committed_ = 0, failed_ = 0;
};

}  // namespace toolgate::store
