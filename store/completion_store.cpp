#include "store/completion_store.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <future>
#include <nlohmann/json.hpp>
#include <variant>

#include "store/schema.h"
#include "store/sqlite_db.h"

namespace toolgate::store {
namespace {

using Clock = std::chrono::steady_clock;
constexpr size_t kLatencyWindow = 4096;
constexpr size_t kMaxBatch = 256;
constexpr auto kRetentionEvery = std::chrono::hours(1);

std::string metadata_json(const Metadata& m) { return nlohmann::json(m).dump(); }

Metadata parse_metadata(const std::string& text) {
  Metadata m;
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_object()) return m;
  for (auto& [k, v] : j.items()) {
    if (v.is_string()) m[k] = v.get<std::string>();
  }
  return m;
}

int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The columns every read selects, in this order.
constexpr const char* kColumns = "id, owner, model, created, metadata, request, response";

StoredCompletion read_row(const SqliteStatement& st) {
  StoredCompletion c;
  c.id = st.text(0);
  c.owner = st.text(1);
  c.model = st.text(2);
  c.created = st.integer(3);
  c.metadata = parse_metadata(st.text(4));
  c.request_json = st.text(5);
  c.response_json = st.text(6);
  return c;
}

// A list/export query: constant SQL fragments chosen by which filters are present; every
// value is a bound parameter.
struct BuiltQuery {
  std::string sql;
  std::vector<std::variant<std::string, int64_t>> params;
};

BuiltQuery build_list_sql(const ListQuery& q, bool paged) {
  BuiltQuery b;
  b.sql = std::string("SELECT ") + kColumns + " FROM completions WHERE 1";
  if (q.owner) {
    b.sql += " AND owner = ?";
    b.params.emplace_back(*q.owner);
  }
  if (q.model) {
    b.sql += " AND model = ?";
    b.params.emplace_back(*q.model);
  }
  for (const auto& [k, v] : q.metadata) {
    b.sql +=
        " AND EXISTS (SELECT 1 FROM json_each(completions.metadata) AS m"
        " WHERE m.key = ? AND m.value = ?)";
    b.params.emplace_back(k);
    b.params.emplace_back(v);
  }
  if (q.since) {
    b.sql += " AND created >= ?";
    b.params.emplace_back(*q.since);
  }
  if (paged && q.after) {
    b.sql += q.descending ? " AND seq < ?" : " AND seq > ?";
    b.params.emplace_back(int64_t{0});  // filled in with the seq of `after`
  }
  b.sql += q.descending ? " ORDER BY seq DESC" : " ORDER BY seq ASC";
  if (paged) {
    b.sql += " LIMIT ?";
    b.params.emplace_back(static_cast<int64_t>(q.limit) + 1);  // one more: has_more
  }
  return b;
}

void bind_all(SqliteStatement& st, const BuiltQuery& b) {
  int i = 1;
  for (const auto& p : b.params) {
    if (const auto* s = std::get_if<std::string>(&p)) {
      st.bind(i++, *s);
    } else {
      st.bind(i++, std::get<int64_t>(p));
    }
  }
}

}  // namespace

struct CompletionStore::WriteOp {
  enum class Kind { Insert, UpdateMetadata, Delete, Retention } kind = Kind::Insert;
  StoredCompletion row;  // Insert: the row; others: owner, id, metadata
  std::function<void(WriteResult)> done;
  Clock::time_point queued = Clock::now();
  WriteResult result = WriteResult::Failed;
};

// A pooled read-only connection, given back when the lease ends.
class CompletionStore::ReaderLease {
 public:
  ReaderLease(CompletionStore* store, std::unique_ptr<SqliteDb> db)
      : store_(store), db_(std::move(db)) {}
  ReaderLease(ReaderLease&&) = default;
  ~ReaderLease() {
    if (!db_) return;
    std::lock_guard lock(store_->readers_mu_);
    store_->idle_readers_.push_back(std::move(db_));
    store_->readers_cv_.notify_one();
  }
  SqliteDb& db() { return *db_; }

 private:
  CompletionStore* store_;
  std::unique_ptr<SqliteDb> db_;
};

CompletionStore::CompletionStore(StoreOptions options) : options_(std::move(options)) {
  try {
    writer_db_ =
        std::make_unique<SqliteDb>(options_.path, /*writable=*/true, options_.busy_timeout_ms);
    writer_db_->exec("PRAGMA journal_mode = WAL");
    writer_db_->exec("PRAGMA synchronous = NORMAL");
    writer_db_->exec("PRAGMA foreign_keys = ON");
    migrate(*writer_db_);
    if (options_.max_bytes > 0) {
      auto st = writer_db_->prepare("PRAGMA page_size");
      const int64_t page = st.step() ? st.integer(0) : 4096;
      // A PRAGMA takes no bound parameters; the value is our own integer.
      const std::string cap =
          "PRAGMA max_page_count = " +
          std::to_string(std::max<int64_t>(1, static_cast<int64_t>(options_.max_bytes) / page));
      writer_db_->exec(cap.c_str());
    }
  } catch (const std::exception& e) {
    throw StoreUnavailable(std::string("store: ") + e.what());
  }
  latencies_.reserve(kLatencyWindow);
  if (options_.retention_days > 0) sweep_retention_now_ = true;
  writer_ = std::thread([this] { writer_loop(); });
}

CompletionStore::~CompletionStore() {
  {
    std::lock_guard lock(queue_mu_);
    stopping_ = true;
  }
  queue_cv_.notify_all();
  if (writer_.joinable()) writer_.join();
}

void CompletionStore::enqueue(WriteOp op) {
  std::unique_lock lock(queue_mu_);
  if (stopping_ || queue_.size() >= options_.max_queued_writes) {
    lock.unlock();
    spdlog::error("store: write queue full or stopping; {} of '{}' dropped",
                  op.kind == WriteOp::Kind::Insert ? "insert" : "update", op.row.id);
    record_failure();
    if (op.done) op.done(WriteResult::Failed);
    return;
  }
  queue_.push_back(std::move(op));
  lock.unlock();
  queue_cv_.notify_one();
}

void CompletionStore::insert(StoredCompletion completion, std::function<void(WriteResult)> done) {
  WriteOp op;
  op.kind = WriteOp::Kind::Insert;
  op.row = std::move(completion);
  op.done = std::move(done);
  enqueue(std::move(op));
}

WriteResult CompletionStore::submit_and_wait(WriteOp op) {
  auto promise = std::make_shared<std::promise<WriteResult>>();
  auto future = promise->get_future();
  op.done = [promise](WriteResult r) { promise->set_value(r); };
  enqueue(std::move(op));
  return future.get();
}

WriteResult CompletionStore::update_metadata(const std::string& owner, const std::string& id,
                                             Metadata metadata) {
  WriteOp op;
  op.kind = WriteOp::Kind::UpdateMetadata;
  op.row.owner = owner;
  op.row.id = id;
  op.row.metadata = std::move(metadata);
  return submit_and_wait(std::move(op));
}

WriteResult CompletionStore::remove(const std::string& owner, const std::string& id) {
  WriteOp op;
  op.kind = WriteOp::Kind::Delete;
  op.row.owner = owner;
  op.row.id = id;
  return submit_and_wait(std::move(op));
}

WriteResult CompletionStore::sweep_retention() {
  WriteOp op;
  op.kind = WriteOp::Kind::Retention;
  return submit_and_wait(std::move(op));
}

void CompletionStore::flush() {
  std::unique_lock lock(queue_mu_);
  idle_cv_.wait(lock, [&] { return queue_.empty() && in_flight_ == 0; });
}

void CompletionStore::writer_loop() {
  auto next_sweep = Clock::now() + kRetentionEvery;
  for (;;) {
    std::vector<WriteOp> batch;
    {
      std::unique_lock lock(queue_mu_);
      queue_cv_.wait_until(lock, next_sweep, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty() && stopping_) break;
      while (!queue_.empty() && batch.size() < kMaxBatch) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      in_flight_ = batch.size();
    }
    if (options_.retention_days > 0 && (sweep_retention_now_ || Clock::now() >= next_sweep)) {
      sweep_retention_now_ = false;
      next_sweep = Clock::now() + kRetentionEvery;
      WriteOp sweep;
      sweep.kind = WriteOp::Kind::Retention;
      batch.insert(batch.begin(), std::move(sweep));
    }
    if (!batch.empty()) commit_batch(batch);
    {
      std::lock_guard lock(queue_mu_);
      in_flight_ = 0;
    }
    idle_cv_.notify_all();
  }
}

// One transaction for the whole batch; each op in its own savepoint so one bad row (a
// duplicate id) fails alone. If the COMMIT itself fails (full disk, I/O error) every op fails.
void CompletionStore::commit_batch(std::vector<WriteOp>& batch) {
  SqliteDb& db = *writer_db_;
  bool committed = false;
  try {
    db.exec("BEGIN IMMEDIATE");
    for (auto& op : batch) {
      db.exec("SAVEPOINT op");
      try {
        op.result = apply(op);
        db.exec("RELEASE op");
      } catch (const SqliteError& e) {
        if (e.code() == SQLITE_FULL || e.code() == SQLITE_IOERR || e.code() == SQLITE_BUSY)
          throw;  // the transaction as a whole cannot go on
        spdlog::error("store: write of '{}' failed: {}", op.row.id, e.what());
        op.result = WriteResult::Failed;
        db.exec("ROLLBACK TO op");
        db.exec("RELEASE op");
      }
    }
    db.exec("COMMIT");
    committed = true;
  } catch (const std::exception& e) {
    spdlog::error("store: transaction of {} write(s) failed: {}", batch.size(), e.what());
    sqlite3_exec(db.handle(), "ROLLBACK", nullptr, nullptr, nullptr);
  }
  const auto now = Clock::now();
  for (auto& op : batch) {
    if (!committed) op.result = WriteResult::Failed;
    if (op.result == WriteResult::Failed) {
      record_failure();
    } else if (op.kind == WriteOp::Kind::Insert) {
      record_latency(std::chrono::duration<double, std::milli>(now - op.queued).count());
    }
    if (op.done) op.done(op.result);
  }
}

WriteResult CompletionStore::apply(WriteOp& op) {
  SqliteDb& db = *writer_db_;
  switch (op.kind) {
    case WriteOp::Kind::Insert: {
      auto st = db.prepare(
          "INSERT INTO completions (id, owner, model, created, metadata, request, response) "
          "VALUES (?, ?, ?, ?, ?, ?, ?)");
      st.bind(1, op.row.id)
          .bind(2, op.row.owner)
          .bind(3, op.row.model)
          .bind(4, op.row.created)
          .bind(5, metadata_json(op.row.metadata))
          .bind(6, op.row.request_json)
          .bind(7, op.row.response_json);
      st.run();
      return WriteResult::Ok;
    }
    case WriteOp::Kind::UpdateMetadata: {
      auto st = db.prepare("UPDATE completions SET metadata = ? WHERE id = ? AND owner = ?");
      st.bind(1, metadata_json(op.row.metadata)).bind(2, op.row.id).bind(3, op.row.owner);
      st.run();
      return db.changes() > 0 ? WriteResult::Ok : WriteResult::NotFound;
    }
    case WriteOp::Kind::Delete: {
      auto st = db.prepare("DELETE FROM completions WHERE id = ? AND owner = ?");
      st.bind(1, op.row.id).bind(2, op.row.owner);
      st.run();
      return db.changes() > 0 ? WriteResult::Ok : WriteResult::NotFound;
    }
    case WriteOp::Kind::Retention: {
      if (options_.retention_days <= 0) return WriteResult::Ok;
      auto st = db.prepare("DELETE FROM completions WHERE created < ?");
      st.bind(1, unix_now() - int64_t{options_.retention_days} * 86400);
      st.run();
      if (db.changes() > 0)
        spdlog::info("store: retention removed {} completion(s) older than {} days", db.changes(),
                     options_.retention_days);
      return WriteResult::Ok;
    }
  }
  return WriteResult::Failed;
}

CompletionStore::ReaderLease CompletionStore::lease_reader() {
  std::unique_lock lock(readers_mu_);
  for (;;) {
    if (!idle_readers_.empty()) {
      auto db = std::move(idle_readers_.back());
      idle_readers_.pop_back();
      return ReaderLease(this, std::move(db));
    }
    if (readers_open_ < options_.reader_connections) {
      ++readers_open_;
      lock.unlock();
      try {
        return ReaderLease(this, std::make_unique<SqliteDb>(options_.path, /*writable=*/false,
                                                            options_.busy_timeout_ms));
      } catch (const std::exception& e) {
        std::lock_guard again(readers_mu_);
        --readers_open_;
        throw StoreUnavailable(std::string("store: ") + e.what());
      }
    }
    readers_cv_.wait(lock);
  }
}

std::optional<StoredCompletion> CompletionStore::get(const std::string& owner,
                                                     const std::string& id) {
  auto lease = lease_reader();
  try {
    auto st = lease.db().prepare(std::string("SELECT ") + kColumns +
                                 " FROM completions WHERE id = ? AND owner = ?");
    st.bind(1, id).bind(2, owner);
    if (!st.step()) return std::nullopt;
    return read_row(st);
  } catch (const SqliteError& e) {
    spdlog::error("store: read of '{}' failed: {}", id, e.what());
    throw StoreUnavailable(e.what());
  }
}

ListPage CompletionStore::list(const ListQuery& q) {
  ListPage page;
  auto lease = lease_reader();
  try {
    SqliteDb& db = lease.db();
    BuiltQuery b = build_list_sql(q, /*paged=*/true);
    if (q.after) {
      // `after` must be one this caller could have seen (same owner).
      auto st = db.prepare(q.owner ? "SELECT seq FROM completions WHERE id = ? AND owner = ?"
                                   : "SELECT seq FROM completions WHERE id = ?");
      st.bind(1, *q.after);
      if (q.owner) st.bind(2, *q.owner);
      if (!st.step()) {
        page.after_not_found = true;
        return page;
      }
      b.params[b.params.size() - 2] = st.integer(0);
    }
    auto st = db.prepare(b.sql);
    bind_all(st, b);
    while (st.step()) {
      if (static_cast<int>(page.items.size()) == q.limit) {
        page.has_more = true;
        break;
      }
      page.items.push_back(read_row(st));
    }
    return page;
  } catch (const SqliteError& e) {
    spdlog::error("store: list failed: {}", e.what());
    throw StoreUnavailable(e.what());
  }
}

void CompletionStore::for_each(const ListQuery& q,
                               const std::function<void(const StoredCompletion&)>& f) {
  auto lease = lease_reader();
  try {
    BuiltQuery b = build_list_sql(q, /*paged=*/false);
    auto st = lease.db().prepare(b.sql);
    bind_all(st, b);
    while (st.step()) f(read_row(st));
  } catch (const SqliteError& e) {
    throw StoreUnavailable(e.what());
  }
}

void CompletionStore::record_latency(double ms) {
  std::lock_guard lock(latency_mu_);
  ++committed_;
  if (latencies_.size() < kLatencyWindow) {
    latencies_.push_back(ms);
  } else {
    latencies_[latency_next_] = ms;
  }
  latency_next_ = (latency_next_ + 1) % kLatencyWindow;
}

void CompletionStore::record_failure() {
  std::lock_guard lock(latency_mu_);
  ++failed_;
}

WriteLatency CompletionStore::write_latency() const {
  std::vector<double> v;
  WriteLatency out;
  {
    std::lock_guard lock(latency_mu_);
    v = latencies_;
    out.count = committed_;
    out.failed = failed_;
  }
  if (v.empty()) return out;
  std::sort(v.begin(), v.end());
  auto at = [&](double q) {
    return v[std::min(v.size() - 1, static_cast<size_t>(q * static_cast<double>(v.size())))];
  };
  out.p50_ms = at(0.5);
  out.p99_ms = at(0.99);
  out.max_ms = v.back();
  return out;
}

}  // namespace toolgate::store
