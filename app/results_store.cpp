#include "app/results_store.h"

#include <nlohmann/json.hpp>
#include <sqlite3.h>

#include "core/error.h"

namespace capbench {

namespace {

const char* kSchema = R"(
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs(id TEXT PRIMARY KEY, position INTEGER NOT NULL, label TEXT NOT NULL,
  variant TEXT NOT NULL, settings TEXT NOT NULL, differing TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS images(id TEXT PRIMARY KEY, path TEXT NOT NULL, refs TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS predictions(run TEXT NOT NULL, image TEXT NOT NULL, rank INTEGER NOT NULL,
  caption TEXT NOT NULL, ids TEXT NOT NULL, score REAL NOT NULL, seconds REAL NOT NULL,
  PRIMARY KEY(run, image, rank));
CREATE TABLE IF NOT EXISTS image_scores(run TEXT NOT NULL, image TEXT NOT NULL, metric TEXT NOT NULL,
  value REAL NOT NULL, PRIMARY KEY(run, image, metric));
CREATE TABLE IF NOT EXISTS run_metrics(run TEXT NOT NULL, metric TEXT NOT NULL, value REAL NOT NULL,
  images INTEGER NOT NULL, PRIMARY KEY(run, metric));
CREATE TABLE IF NOT EXISTS skipped(place TEXT NOT NULL, message TEXT NOT NULL, image TEXT, stamp TEXT,
  PRIMARY KEY(place, message));
)";

// meta key "schema_version": the layout above. An older database (version 1,
// or one that predates the key) is brought up to it when opened; a newer one
// is refused, because this program may misread it.
constexpr int kSchemaVersion = 2;  // 2: skipped.image and skipped.stamp

// What went wrong, in words a user can act on; SQLite's own text in parentheses.
std::string failure(sqlite3* db, const std::string& file, const char* what) {
  const std::string sqlite = sqlite3_errmsg(db);
  switch (sqlite3_errcode(db)) {
    case SQLITE_FULL:
      return file + ": cannot save results: the disk is full (" + sqlite + "); nothing of the unsaved batch was kept";
    case SQLITE_IOERR:
      return file + ": cannot save results: the disk refused a write (" + sqlite + "); nothing of the unsaved batch was kept";
    case SQLITE_READONLY:
    case SQLITE_CANTOPEN:
    case SQLITE_PERM:
      return file + ": cannot write the results database (" + sqlite + "): is the output folder read-only?";
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT:
      return file + ": not a capbench results database, or a damaged one (" + sqlite + ")";
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return file + ": the results database is busy: another process holds it (" + sqlite + ")";
    default:
      return file + ": database " + what + " failed: " + sqlite;
  }
}

// One prepared statement; binds by position, finalizes itself.
class Statement {
 public:
  Statement(sqlite3* db, const std::string& sql, const std::string& file) : db_(db), file_(file) {
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt_, nullptr) != SQLITE_OK) fail("prepare");
  }
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement& bind(int i, const std::string& v) {
    sqlite3_bind_text(stmt_, i, v.c_str(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Statement& bind(int i, int64_t v) {
    sqlite3_bind_int64(stmt_, i, v);
    return *this;
  }
  Statement& bind(int i, double v) {
    sqlite3_bind_double(stmt_, i, v);
    return *this;
  }
  bool step() {  // true while a row is available
    int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc != SQLITE_DONE) fail("step");
    return false;
  }
  std::string text(int col) const {
    const unsigned char* t = sqlite3_column_text(stmt_, col);
    return t ? std::string(reinterpret_cast<const char*>(t), sqlite3_column_bytes(stmt_, col)) : std::string();
  }
  int64_t integer(int col) const { return sqlite3_column_int64(stmt_, col); }
  double real(int col) const { return sqlite3_column_double(stmt_, col); }

 private:
  [[noreturn]] void fail(const char* what) const { throw Error(failure(db_, file_, what)); }
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
  std::string file_;
};

// WHERE clause selecting one run, or every run when `run` is empty.
std::string run_filter(const std::string& run) { return run.empty() ? " WHERE ?1 = ''" : " WHERE run = ?1"; }

}  // namespace

ResultsStore::ResultsStore(const std::filesystem::path& file) : file_(file) {
  if (sqlite3_open_v2(file.string().c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) != SQLITE_OK) {
    std::string message = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    throw Error(file.string() + ": cannot open results database: " + message);
  }
  sqlite3_busy_timeout(db_, 10000);
  try {
    // WAL with synchronous=NORMAL: a killed process never loses a committed batch.
    exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;");
    exec(kSchema);
    exec("INSERT OR IGNORE INTO meta(key, value) VALUES('schema_version', '" + std::to_string(kSchemaVersion) + "')");
    const std::string stored = meta("schema_version").value_or("");
    if (stored.empty() || stored.size() > 9 || stored.find_first_not_of("0123456789") != std::string::npos ||
        std::stoi(stored) > kSchemaVersion)
      throw Error(file.string() + ": results database of schema version " + stored + ", newer than this capbench reads (" +
                  std::to_string(kSchemaVersion) + "): use a newer capbench");
    upgrade_schema();
  } catch (...) {
    sqlite3_close(db_);
    throw;
  }
}

// Version 1 databases (written before images could be skipped) lack skipped.image / .stamp.
void ResultsStore::upgrade_schema() {
  bool has_image = false;
  Statement columns(db_, "PRAGMA table_info(skipped)", file_.string());
  while (columns.step()) has_image = has_image || columns.text(1) == "image";
  if (!has_image) exec("ALTER TABLE skipped ADD COLUMN image TEXT; ALTER TABLE skipped ADD COLUMN stamp TEXT;");
  if (meta("schema_version") != std::to_string(kSchemaVersion)) set_meta("schema_version", std::to_string(kSchemaVersion));
}

ResultsStore::~ResultsStore() { sqlite3_close(db_); }

void ResultsStore::exec(const std::string& sql) const {
  char* message = nullptr;
  if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &message) != SQLITE_OK) {
    std::string m = message ? message : "unknown error";
    sqlite3_free(message);
    throw Error(sqlite3_errcode(db_) == SQLITE_ERROR ? file_.string() + ": database error: " + m
                                                     : failure(db_, file_.string(), "write"));
  }
}

void ResultsStore::begin() { exec("BEGIN IMMEDIATE"); }
void ResultsStore::commit() { exec("COMMIT"); }

void ResultsStore::rollback() {
  // A failed COMMIT (disk full) may have rolled back already; the original error is what matters.
  if (sqlite3_get_autocommit(db_)) return;
  sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
}

void ResultsStore::set_meta(const std::string& key, const std::string& value) {
  Statement(db_, "INSERT OR REPLACE INTO meta(key, value) VALUES(?1, ?2)", file_.string()).bind(1, key).bind(2, value).step();
}

std::optional<std::string> ResultsStore::meta(const std::string& key) const {
  Statement s(db_, "SELECT value FROM meta WHERE key = ?1", file_.string());
  s.bind(1, key);
  if (s.step()) return s.text(0);
  return std::nullopt;
}

void ResultsStore::put_run(const StoredRun& run) {
  Statement existing(db_, "SELECT settings FROM runs WHERE id = ?1", file_.string());
  existing.bind(1, run.id);
  if (existing.step()) {
    if (existing.text(0) != run.settings_json)
      throw Error(file_.string() + ": run " + run.id + " is stored with other settings (a hash collision or an edited database)");
    Statement(db_, "UPDATE runs SET position = ?2, label = ?3, variant = ?4, differing = ?5 WHERE id = ?1", file_.string())
        .bind(1, run.id).bind(2, run.position).bind(3, run.label).bind(4, run.variant).bind(5, run.differing_json).step();
    return;
  }
  Statement(db_, "INSERT INTO runs(id, position, label, variant, settings, differing) VALUES(?1, ?2, ?3, ?4, ?5, ?6)",
            file_.string())
      .bind(1, run.id).bind(2, run.position).bind(3, run.label).bind(4, run.variant).bind(5, run.settings_json)
      .bind(6, run.differing_json).step();
}

void ResultsStore::put_image(const StoredImage& image) {
  Statement(db_, "INSERT OR IGNORE INTO images(id, path, refs) VALUES(?1, ?2, ?3)", file_.string())
      .bind(1, image.id).bind(2, image.path).bind(3, nlohmann::json(image.references).dump()).step();
}

void ResultsStore::put_prediction(const StoredPrediction& p) {
  Statement(db_,
            "INSERT INTO predictions(run, image, rank, caption, ids, score, seconds) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            file_.string())
      .bind(1, p.run).bind(2, p.image).bind(3, p.rank).bind(4, p.caption).bind(5, nlohmann::json(p.ids).dump())
      .bind(6, p.score).bind(7, p.seconds).step();
}

void ResultsStore::put_score(const StoredScore& s) {
  Statement(db_, "INSERT OR REPLACE INTO image_scores(run, image, metric, value) VALUES(?1, ?2, ?3, ?4)", file_.string())
      .bind(1, s.run).bind(2, s.image).bind(3, s.metric).bind(4, s.value).step();
}

void ResultsStore::put_run_metric(const StoredRunMetric& m) {
  Statement(db_, "INSERT OR REPLACE INTO run_metrics(run, metric, value, images) VALUES(?1, ?2, ?3, ?4)", file_.string())
      .bind(1, m.run).bind(2, m.metric).bind(3, m.value).bind(4, m.images).step();
}

void ResultsStore::clear_run_metrics(const std::string& run) {
  Statement(db_, "DELETE FROM run_metrics WHERE run = ?1", file_.string()).bind(1, run).step();
}

void ResultsStore::put_skip(const StoredSkip& skip) {
  Statement(db_, "INSERT OR IGNORE INTO skipped(place, message, image, stamp) VALUES(?1, ?2, NULLIF(?3, ''), NULLIF(?4, ''))",
            file_.string())
      .bind(1, skip.where).bind(2, skip.message).bind(3, skip.image).bind(4, skip.stamp).step();
}

void ResultsStore::skip_image(const StoredSkip& skip) {
  if (skip.image.empty()) throw Error("skip_image needs the id of the image");
  unskip_image(skip.image);
  for (const char* sql : {"DELETE FROM images WHERE id = ?1", "DELETE FROM predictions WHERE image = ?1",
                          "DELETE FROM image_scores WHERE image = ?1"})
    Statement(db_, sql, file_.string()).bind(1, skip.image).step();
  put_skip(skip);
}

void ResultsStore::unskip_image(const std::string& image) {
  Statement(db_, "DELETE FROM skipped WHERE image = ?1", file_.string()).bind(1, image).step();
}

std::vector<StoredRun> ResultsStore::runs() const {
  Statement s(db_, "SELECT id, position, label, variant, settings, differing FROM runs ORDER BY position, id", file_.string());
  std::vector<StoredRun> out;
  while (s.step()) out.push_back({s.text(0), s.integer(1), s.text(2), s.text(3), s.text(4), s.text(5)});
  return out;
}

std::vector<StoredImage> ResultsStore::images() const {
  Statement s(db_, "SELECT id, path, refs FROM images ORDER BY id", file_.string());
  std::vector<StoredImage> out;
  while (s.step()) out.push_back({s.text(0), s.text(1), nlohmann::json::parse(s.text(2)).get<std::vector<std::string>>()});
  return out;
}

std::set<std::string> ResultsStore::images_done(const std::string& run) const {
  Statement s(db_, "SELECT image FROM predictions WHERE run = ?1 AND rank = 0", file_.string());
  s.bind(1, run);
  std::set<std::string> out;
  while (s.step()) out.insert(s.text(0));
  return out;
}

std::vector<StoredPrediction> ResultsStore::predictions(const std::string& run) const {
  Statement s(db_,
              "SELECT run, image, rank, caption, ids, score, seconds FROM predictions" + run_filter(run) +
                  " ORDER BY run, image, rank",
              file_.string());
  s.bind(1, run);
  std::vector<StoredPrediction> out;
  while (s.step())
    out.push_back({s.text(0), s.text(1), s.integer(2), s.text(3),
                   nlohmann::json::parse(s.text(4)).get<std::vector<int64_t>>(), s.real(5), s.real(6)});
  return out;
}

std::vector<StoredScore> ResultsStore::scores(const std::string& run) const {
  Statement s(db_, "SELECT run, image, metric, value FROM image_scores" + run_filter(run) + " ORDER BY run, image, metric",
              file_.string());
  s.bind(1, run);
  std::vector<StoredScore> out;
  while (s.step()) out.push_back({s.text(0), s.text(1), s.text(2), s.real(3)});
  return out;
}

std::vector<StoredRunMetric> ResultsStore::run_metrics(const std::string& run) const {
  Statement s(db_, "SELECT run, metric, value, images FROM run_metrics" + run_filter(run) + " ORDER BY run, metric",
              file_.string());
  s.bind(1, run);
  std::vector<StoredRunMetric> out;
  while (s.step()) out.push_back({s.text(0), s.text(1), s.real(2), s.integer(3)});
  return out;
}

std::vector<StoredSkip> ResultsStore::skipped() const {
  Statement s(db_, "SELECT place, message, image, stamp FROM skipped ORDER BY place, message", file_.string());
  std::vector<StoredSkip> out;
  while (s.step()) out.push_back({s.text(0), s.text(1), s.text(2), s.text(3)});
  return out;
}

void ResultsStore::merge_from(const std::filesystem::path& other) {
  if (!std::filesystem::is_regular_file(other)) throw Error(other.string() + ": no results database");
  ResultsStore source(other);  // checks it opens, and brings its schema up to date
  for (const StoredRun& run : source.runs()) put_run(run);  // throws when settings disagree
  Statement(db_, "ATTACH DATABASE ?1 AS other", file_.string()).bind(1, other.string()).step();
  try {
    exec("INSERT OR IGNORE INTO images SELECT * FROM other.images;"
         "INSERT OR IGNORE INTO predictions SELECT * FROM other.predictions;"
         "INSERT OR IGNORE INTO image_scores SELECT * FROM other.image_scores;"
         "INSERT OR IGNORE INTO skipped SELECT * FROM other.skipped;"
         "INSERT OR IGNORE INTO meta SELECT * FROM other.meta;");
  } catch (...) {
    exec("DETACH DATABASE other");
    throw;
  }
  exec("DETACH DATABASE other");
}

}  // namespace capbench
