#pragma once
// A thin RAII layer over the SQLite C API: a connection and a prepared statement. Every SQL
// text the store runs is a constant; values only ever travel through bind().
#include <sqlite3.h>

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace toolgate::store {

// A SQLite failure. `code` is the primary result code (SQLITE_BUSY, SQLITE_FULL, ...).
class SqliteError : public std::runtime_error {
 public:
  SqliteError(int code, const std::string& what) : std::runtime_error(what), code_(code) {}
  int code() const { return code_; }

 private:
  int code_;
};

class SqliteStatement;

class SqliteDb {
 public:
  // Opens (creating when `create`) the database file; read-only when !writable.
  SqliteDb(const std::string& path, bool writable, int busy_timeout_ms);
  ~SqliteDb();
  SqliteDb(const SqliteDb&) = delete;
  SqliteDb& operator=(const SqliteDb&) = delete;

  // Runs constant SQL without results (PRAGMAs, DDL, BEGIN/COMMIT).
  void exec(const char* sql);
  SqliteStatement prepare(std::string_view sql);
  int64_t changes() const;
  sqlite3* handle() const { return db_; }
  [[noreturn]] void fail(int rc, std::string_view what) const;

 private:
  sqlite3* db_ = nullptr;
};

class SqliteStatement {
 public:
  SqliteStatement(const SqliteDb& db, sqlite3_stmt* stmt) : db_(&db), stmt_(stmt) {}
  ~SqliteStatement();
  SqliteStatement(SqliteStatement&& o) noexcept;
  SqliteStatement(const SqliteStatement&) = delete;
  SqliteStatement& operator=(const SqliteStatement&) = delete;

  // Parameters are numbered from 1, as in SQLite.
  SqliteStatement& bind(int index, std::string_view text);
  SqliteStatement& bind(int index, int64_t value);
  SqliteStatement& bind_null(int index);
  // true while a row is available; false when done. Throws on errors.
  bool step();
  // Runs a statement that returns no rows.
  void run();
  void reset();

  std::string text(int column) const;
  int64_t integer(int column) const;
  bool is_null(int column) const;

 private:
  const SqliteDb* db_;
  sqlite3_stmt* stmt_;
};

}  // namespace toolgate::store
