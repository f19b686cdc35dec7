#pragma once
// The store's schema and its migrations. The database's `PRAGMA user_version` holds the number
// of migrations applied; opening a database runs the missing ones, each in its own transaction,
// so an older file is brought up to date and a newer one (from a later Toolgate) is refused.
#include "store/sqlite_db.h"

namespace toolgate::store {

// The version this build writes: the number of migrations it knows.
int schema_version_latest();
// The version recorded in the file (0 for a new, empty database).
int schema_version(SqliteDb& db);
// Applies the missing migrations. Throws SqliteError, or std::runtime_error for a database
// newer than this build.
void migrate(SqliteDb& db);

}  // namespace toolgate::store
