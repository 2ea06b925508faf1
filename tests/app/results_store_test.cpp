#include <doctest/doctest.h>

#include <filesystem>

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

TEST_CASE("a database records its schema version; a newer one is refused with the file named") {
  fs::path file = fresh("schema.sqlite");
  {
    ResultsStore store(file);
    CHECK(store.meta("schema_version") == std::optional<std::string>("1"));
    store.set_meta("schema_version", "2");
  }
  try {
    ResultsStore newer(file);
    FAIL("a newer schema opened");
  } catch (const Error& e) {
    CHECK(std::string(e.what()).find(file.string() + ": results database of schema version 2") == 0);
  }
}
