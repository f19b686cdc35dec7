#include "store/schema.h"

#include <array>
#include <string>

namespace toolgate::store {
namespace {

// Append only: a released migration never changes, a new one goes at the end.
constexpr std::array kMigrations = {
    // 1: stored chat completions. `seq` orders them (creation order, ties impossible);
    // `owner` is the SHA-256 of the API key that created the row ('' on an open server);
    // `request` holds the request's messages, tools and parameters, `response` the final
    // chat.completion object (streamed ones assembled from their chunks), both JSON text.
    R"sql(
CREATE TABLE completions (
  seq      INTEGER PRIMARY KEY AUTOINCREMENT,
  id       TEXT    NOT NULL UNIQUE,
  owner    TEXT    NOT NULL,
  model    TEXT    NOT NULL,
  created  INTEGER NOT NULL,
  metadata TEXT    NOT NULL DEFAULT '{}',
  request  TEXT    NOT NULL,
  response TEXT    NOT NULL
);
CREATE INDEX completions_by_owner ON completions (owner, seq);
CREATE INDEX completions_by_owner_model ON completions (owner, model, seq);
CREATE INDEX completions_by_created ON completions (created);
)sql",
};

}  // namespace

int schema_version_latest() { return static_cast<int>(kMigrations.size()); }

int schema_version(SqliteDb& db) {
  auto st = db.prepare("PRAGMA user_version");
  return st.step() ? static_cast<int>(st.integer(0)) : 0;
}

void migrate(SqliteDb& db) {
  int version = schema_version(db);
  if (version > schema_version_latest()) {
    throw std::runtime_error("the store database has schema version " + std::to_string(version) +
                             ", newer than this build's " +
                             std::to_string(schema_version_latest()));
  }
  for (int v = version; v < schema_version_latest(); ++v) {
    db.exec("BEGIN IMMEDIATE");
    try {
      db.exec(kMigrations[static_cast<size_t>(v)]);
      // PRAGMA takes no bound parameters; the value is our own integer.
      db.exec(("PRAGMA user_version = " + std::to_string(v + 1)).c_str());
      db.exec("COMMIT");
    } catch (...) {
      sqlite3_exec(db.handle(), "ROLLBACK", nullptr, nullptr, nullptr);
      throw;
    }
  }
}

}  // namespace toolgate::store
