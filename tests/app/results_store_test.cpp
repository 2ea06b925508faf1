#include <doctest/doctest.h>

#include <sqlite3.h>

#include <filesystem>
#include <fstream>

#include "app/results_store.h"
#include "core/error.h"
#include "tests/test_support.h"

namespace fs = std::filesystem;
using namespace capbench;

namespace {

fs::path fresh(const std::string& name) {
  static const capbench::testing::TempDir scratch;
  const fs::path& dir = scratch.path();
  fs::path file = dir / name;
  for (const char* suffix : {"", "-wal", "-shm"}) fs::remove(file.string() + suffix);
  return file;
}

}  // namespace

TEST_CASE("the results store keeps runs, images, predictions, scores and skips") {
  fs::path file = fresh("basic.sqlite");
  {
    ResultsStore store(file);
    store.begin();
    store.set_meta("metrics", "[\"cosine\"]");
    store.put_run({"r1", 0, "num_beams=1", "", "{\"a\":1}", "{}"});
    store.put_run({"r2", 1, "num_beams=3", "", "{\"a\":3}", "{}"});
    store.put_image({"img2", "images/img2.png", {"two", "deux"}});
    store.put_image({"img1", "images/img1.png", {"one"}});
    store.put_image({"img1", "elsewhere.png", {}});  // ignored: already stored
    store.put_prediction({"r1", "img1", 0, "a caption, with \"quotes\"", {2, 10, 11}, -1.5, 0.25});
    store.put_prediction({"r1", "img1", 1, "second best", {2, 12}, -2.5, 0});
    store.put_score({"r1", "img1", "cosine", 0.5});
    store.put_score({"r1", "img1", "cosine", 0.75});  // replaces
    store.put_run_metric({"r1", "cosine", 0.75, 1});
    store.put_skip({"prompts.csv:3", "empty prompt"});
    store.commit();
  }
  ResultsStore store(file);
  CHECK(store.meta("metrics") == std::optional<std::string>("[\"cosine\"]"));
  CHECK_FALSE(store.meta("nothing").has_value());
  auto runs = store.runs();
  REQUIRE(runs.size() == 2);
  CHECK(runs[0].id == "r1");
  CHECK(runs[1].label == "num_beams=3");
  auto images = store.images();
  REQUIRE(images.size() == 2);
  CHECK(images[0].id == "img1");
  CHECK(images[0].path == "images/img1.png");
  CHECK(images[1].references == std::vector<std::string>{"two", "deux"});
  auto predictions = store.predictions("r1");
  REQUIRE(predictions.size() == 2);
  CHECK(predictions[0].caption == "a caption, with \"quotes\"");
  CHECK(predictions[0].ids == std::vector<int64_t>{2, 10, 11});
  CHECK(predictions[0].score == -1.5);
  CHECK(predictions[1].rank == 1);
  CHECK(store.predictions("r2").empty());
  CHECK(store.predictions().size() == 2);
  CHECK(store.images_done("r1") == std::set<std::string>{"img1"});
  CHECK(store.scores("r1").size() == 1);
  CHECK(store.scores("r1")[0].value == 0.75);
  CHECK(store.run_metrics().size() == 1);
  CHECK(store.skipped().size() == 1);

  // A stored run id with other settings is refused; a duplicate prediction too.
  CHECK_THROWS_AS(store.put_run({"r1", 0, "x", "", "{\"a\":2}", "{}"}), Error);
  CHECK_THROWS_AS(store.put_prediction({"r1", "img1", 0, "again", {}, 0, 0}), Error);
}

TEST_CASE("a rolled-back transaction leaves nothing behind") {
  fs::path file = fresh("rollback.sqlite");
  ResultsStore store(file);
  store.begin();
  store.put_run({"r1", 0, "base", "", "{}", "{}"});
  store.put_prediction({"r1", "img1", 0, "x", {}, 0, 0});
  store.rollback();
  CHECK(store.runs().empty());
  CHECK(store.predictions().empty());
}

TEST_CASE("merging two databases unions their rows") {
  fs::path a = fresh("a.sqlite"), b = fresh("b.sqlite"), merged = fresh("merged.sqlite");
  {
    ResultsStore s(a);
    s.put_run({"r1", 0, "base", "", "{}", "{}"});
    s.put_image({"img1", "1.png", {"one"}});
    s.put_prediction({"r1", "img1", 0, "x", {1}, 0, 0.1});
  }
  {
    ResultsStore s(b);
    s.put_run({"r1", 0, "base", "", "{}", "{}"});
    s.put_image({"img2", "2.png", {"two"}});
    s.put_prediction({"r1", "img2", 0, "y", {2}, 0, 0.1});
    s.put_skip({"x", "y"});
  }
  ResultsStore m(merged);
  m.merge_from(a);
  m.merge_from(b);
  m.merge_from(b);  // twice: nothing duplicated
  CHECK(m.runs().size() == 1);
  CHECK(m.images().size() == 2);
  CHECK(m.predictions().size() == 2);
  CHECK(m.skipped().size() == 1);
  {
    ResultsStore other(fresh("other.sqlite"));
    other.put_run({"r1", 0, "base", "", "{\"different\":1}", "{}"});
  }
  CHECK_THROWS_AS(m.merge_from(fresh("other.sqlite")), Error);
  CHECK_THROWS_AS(m.merge_from(fresh("missing.sqlite")), Error);
}

TEST_CASE("skip_image takes an image out of the sweep and records why; unskip_image forgets it") {
  fs::path file = fresh("skip-image.sqlite");
  ResultsStore store(file);
  store.begin();
  store.put_run({"r1", 0, "base", "", "{}", "{}"});
  store.put_image({"img1", "1.png", {"one"}});
  store.put_image({"img2", "2.png", {"two"}});
  store.put_prediction({"r1", "img2", 0, "x", {1}, 0, 0.1});
  store.put_score({"r1", "img2", "cosine", 0.5});
  store.put_skip({"prompts.csv:3", "empty prompt"});
  store.skip_image({"2.png", "cannot decode image", "img2", "12:34"});
  store.commit();
  REQUIRE(store.images().size() == 1);
  CHECK(store.images()[0].id == "img1");
  CHECK(store.predictions().empty());
  CHECK(store.scores().empty());
  const auto skipped = store.skipped();
  REQUIRE(skipped.size() == 2);
  CHECK(skipped[0].where == "2.png");
  CHECK(skipped[0].message == "cannot decode image");
  CHECK(skipped[0].image == "img2");
  CHECK(skipped[0].stamp == "12:34");
  CHECK(skipped[1].image.empty());  // a dataset row
  store.skip_image({"2.png", "another reason", "img2", "56:78"});  // replaces the earlier record
  CHECK(store.skipped().size() == 2);
  store.unskip_image("img2");
  REQUIRE(store.skipped().size() == 1);
  CHECK(store.skipped()[0].where == "prompts.csv:3");
  CHECK_THROWS_AS(store.skip_image({"x.png", "no id", "", ""}), Error);
}

TEST_CASE("a database written before images could be skipped is upgraded when opened") {
  fs::path file = fresh("old-schema.sqlite");
  {
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(file.c_str(), &db) == SQLITE_OK);
    REQUIRE(sqlite3_exec(db,
                         "CREATE TABLE skipped(place TEXT NOT NULL, message TEXT NOT NULL, PRIMARY KEY(place, message));"
                         "INSERT INTO skipped VALUES('prompts.csv:7', 'empty prompt');",
                         nullptr, nullptr, nullptr) == SQLITE_OK);
    sqlite3_close(db);
  }
  {
    ResultsStore store(file);
    CHECK(store.meta("schema_version") == std::optional<std::string>("2"));
    REQUIRE(store.skipped().size() == 1);
    CHECK(store.skipped()[0].image.empty());
    store.skip_image({"a.png", "empty", "a", "1:2"});
    CHECK(store.skipped().size() == 2);
  }
  ResultsStore merged(fresh("old-schema-merged.sqlite"));
  merged.merge_from(file);
  CHECK(merged.skipped().size() == 2);
}

TEST_CASE("rollback without an open transaction is harmless (a failed COMMIT has rolled back already)") {
  ResultsStore store(fresh("rollback-twice.sqlite"));
  CHECK_NOTHROW(store.rollback());
  store.begin();
  store.rollback();
  CHECK_NOTHROW(store.rollback());
}

TEST_CASE("a file that is not a results database is named as such") {
  fs::path file = fresh("not-a-db.sqlite");
  std::ofstream(file) << "this is a text file, long enough to have a header of sorts, but not SQLite at all....";
  CHECK_THROWS_WITH_AS(ResultsStore{file}, doctest::Contains("not a capbench results database, or a damaged one"), Error);
}

TEST_CASE("a database records its schema version; a newer one is refused with the file named") {
  fs::path file = fresh("schema.sqlite");
  {
    ResultsStore store(file);
    CHECK(store.meta("schema_version") == std::optional<std::string>("2"));
    store.set_meta("schema_version", "3");
  }
  try {
    ResultsStore newer(file);
    FAIL("a newer schema opened");
  } catch (const Error& e) {
    CHECK(std::string(e.what()).find(file.string() + ": results database of schema version 3") == 0);
  }
}
