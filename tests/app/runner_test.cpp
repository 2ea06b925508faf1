#include <doctest/doctest.h>

#include <atomic>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <spawn.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include "app/experiment/experiment.h"
#include "app/results_store.h"
#include "app/runner/runner.h"
#include "core/error.h"
#include "metrics/metrics.h"
#include "tests/app/runner_fakes.h"
#include "tests/test_support.h"

extern char** environ;

namespace fs = std::filesystem;
using namespace capbench;
using runner_fakes::FakeComponents;

namespace {

fs::path scratch(const std::string& name) {
  static const capbench::testing::TempDir root;
  fs::path dir = root / name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

// 2 x 2 grid x 3 variants = 12 runs; two image sides (checkpoints m and m2), three decoders.
fs::path write_experiment(const fs::path& dir) {
  fs::path file = dir / "exp.toml";
  std::ofstream(file) << R"(name = "fake"
dataset = { kind = "folder", root = "images" }
model = { checkpoint = "models/m" }
encoder = { plugin = "enc" }
bridge = { plugin = "bridge" }
decoder = { plugin = "dec-a" }
generate = { max_new_tokens = 5 }
scorer = { checkpoint = "scorer", metrics = ["cosine", "bleu4", "cider"] }

[sweep]
"generate.num_beams" = [1, 3]
"generate.prompt" = ["", "a photo of"]

[[variant]]
name = "a"

[[variant]]
name = "b"
"decoder.plugin" = "dec-b"

[[variant]]
name = "other-checkpoint"
"model.checkpoint" = "models/m2"
)";
  return file;
}

Dataset dataset(int n) {
  Dataset d;
  for (int i = 0; i < n; ++i) {
    std::string id = "img" + std::to_string(100 + i);
    d.items.push_back({id, "images/" + id + ".png", {"a photo of object " + std::to_string(i % 7), "an object"}});
  }
  d.skipped.push_back({"images/broken.png", "not an image"});
  return d;
}

Scoring scoring(std::shared_ptr<SentenceEmbedder> embedder) {
  Scoring s;
  s.metrics = {"cosine", "bleu4", "cider"};
  s.compute = [embedder](const std::vector<std::string>& m, const std::vector<std::string>& p,
                         const std::vector<std::vector<std::string>>& r) { return compute_metrics(m, p, r, embedder.get()); };
  return s;
}

RunnerReport run_into(const fs::path& db, const Experiment& e, const Dataset& d, RunnerOptions options, int sleep_ms = 0) {
  FakeComponents components(sleep_ms);
  auto embedder = std::make_shared<runner_fakes::FakeEmbedder>();
  Scoring s = scoring(embedder);
  ResultsStore store(db);
  return run_sweep(e, d, components, &s, store, options);
}

// Everything a run stores except timings, as comparable text.
std::vector<std::string> contents(const fs::path& db) {
  ResultsStore store(db);
  std::vector<std::string> rows;
  for (const auto& r : store.runs()) rows.push_back("run " + r.id + " " + r.label + " " + r.settings_json + r.differing_json);
  for (const auto& i : store.images()) rows.push_back("image " + i.id + " " + i.path);
  for (const auto& p : store.predictions())
    rows.push_back("prediction " + p.run + " " + p.image + " " + std::to_string(p.rank) + " " + p.caption + " " +
                   std::to_string(p.ids.size()) + " " + std::to_string(p.score));
  for (const auto& s : store.scores()) rows.push_back("score " + s.run + " " + s.image + " " + s.metric + " " + std::to_string(s.value));
  for (const auto& m : store.run_metrics())
    rows.push_back("metric " + m.run + " " + m.metric + " " + std::to_string(m.value) + " " + std::to_string(m.images));
  for (const auto& s : store.skipped()) rows.push_back("skipped " + s.where + " " + s.message);
  return rows;
}

int64_t count_predictions(const fs::path& db) {
  if (!fs::exists(db)) return 0;
  try {
    ResultsStore store(db);
    int64_t n = 0;
    for (const auto& p : store.predictions()) n += p.rank == 0 ? 1 : 0;
    return n;
  } catch (const Error&) {
    return 0;  // busy while the child writes
  }
}

}  // namespace

TEST_CASE("a sweep encodes each image batch once per image side and makes each decoder once") {
  fs::path dir = scratch("sharing");
  Experiment e = load_experiment(write_experiment(dir));
  REQUIRE(e.runs.size() == 12);
  FakeComponents components;
  auto embedder = std::make_shared<runner_fakes::FakeEmbedder>();
  Scoring s = scoring(embedder);
  ResultsStore store(dir / "results.sqlite");
  RunnerOptions options;
  options.batch_size = 4;
  RunnerReport report = run_sweep(e, dataset(10), components, &s, store, options);
  CHECK(report.runs_complete == 12);
  CHECK(report.predictions_made == 120);
  CHECK(components.counters.image_sides == 2);      // models/m and models/m2
  CHECK(components.counters.image_batches == 2 * 3);  // 10 images in batches of 4, per image side
  CHECK(components.counters.caption_sides == 3);    // dec-a (m), dec-b (m), dec-a (m2)
  CHECK(store.run_metrics().size() == 12 * 3);
  CHECK(store.skipped().size() == 1);
  // Every run of the grid has a distinct caption per image.
  auto predictions = store.predictions(e.runs[3].id);
  REQUIRE(predictions.size() == 10);
  CHECK(predictions[0].caption.rfind("a photo of ", 0) == 0);
  CHECK(predictions[0].caption.find("beams 3") != std::string::npos);

  // Running again does nothing: every item is stored.
  FakeComponents again;
  RunnerReport second = run_sweep(e, dataset(10), again, &s, store, options);
  CHECK(second.predictions_made == 0);
  CHECK(again.counters.image_sides == 0);
  CHECK(again.counters.caption_sides == 0);
}

TEST_CASE("sampling captions each image alone from the run's seed, so captions do not depend on the batch") {
  fs::path dir = scratch("sampling");
  fs::path file = dir / "exp.toml";
  std::ofstream(file) << R"(dataset = { kind = "folder", root = "images" }
model = { checkpoint = "models/m" }
encoder = { plugin = "enc" }
bridge = { plugin = "bridge" }
decoder = { plugin = "dec" }
generate = { do_sample = true, seed = 42 }
)";
  Experiment e = load_experiment(file);
  RunnerOptions one, three;
  one.batch_size = 1;
  three.batch_size = 3;
  run_into(dir / "one.sqlite", e, dataset(7), one);
  run_into(dir / "three.sqlite", e, dataset(7), three);
  CHECK(contents(dir / "one.sqlite") == contents(dir / "three.sqlite"));
  auto captions = ResultsStore(dir / "one.sqlite").predictions();
  REQUIRE(captions.size() == 7);
  for (const auto& c : captions) CHECK(c.caption.find(" seed 42") != std::string::npos);  // torch.manual_seed(42) for each
}

TEST_CASE("a stop request finishes the batch in flight, and the next call completes the sweep") {
  fs::path dir = scratch("stop");
  Experiment e = load_experiment(write_experiment(dir));
  std::atomic<bool> stop{true};
  RunnerOptions options;
  options.batch_size = 3;
  options.stop = &stop;
  RunnerReport first = run_into(dir / "results.sqlite", e, dataset(9), options);
  CHECK(first.interrupted);
  CHECK(first.predictions_made == 0);
  stop = false;
  RunnerReport second = run_into(dir / "results.sqlite", e, dataset(9), options);
  CHECK_FALSE(second.interrupted);
  CHECK(second.runs_complete == 12);
  RunnerOptions plain;
  plain.batch_size = 3;
  run_into(dir / "plain.sqlite", e, dataset(9), plain);
  CHECK(contents(dir / "results.sqlite") == contents(dir / "plain.sqlite"));
}

// Runs the sweep slowly in a process of its own, for the kill test below.
TEST_CASE("runner child process (started by the SIGKILL test)" * doctest::skip()) {
  const char* db = std::getenv("CAPBENCH_RUNNER_CHILD_DB");
  const char* exp = std::getenv("CAPBENCH_RUNNER_CHILD_EXPERIMENT");
  if (!db || !exp) return;
  RunnerOptions options;
  options.batch_size = 2;
  run_into(db, load_experiment(exp), dataset(12), options, 15);
  std::_Exit(0);
}

TEST_CASE("a sweep killed with SIGKILL resumes to the same database as an uninterrupted run") {
  fs::path dir = scratch("sigkill");
  fs::path file = write_experiment(dir);
  Experiment e = load_experiment(file);
  fs::path killed = dir / "killed.sqlite";
  const int64_t total = 12 * 12;

  std::string db_env = "CAPBENCH_RUNNER_CHILD_DB=" + killed.string();
  std::string exp_env = "CAPBENCH_RUNNER_CHILD_EXPERIMENT=" + file.string();
  std::vector<char*> env;
  for (char** v = environ; *v; ++v) env.push_back(*v);
  env.push_back(db_env.data());
  env.push_back(exp_env.data());
  env.push_back(nullptr);
  std::string self = fs::read_symlink("/proc/self/exe").string();
  std::string filter = "--test-case=runner child process*";
  std::string no_skip = "--no-skip";
  char* argv[] = {self.data(), filter.data(), no_skip.data(), nullptr};
  pid_t child = 0;
  REQUIRE(posix_spawn(&child, self.c_str(), nullptr, nullptr, argv, env.data()) == 0);

  // Kill it once some, but not all, batches are saved.
  int64_t seen = 0;
  for (int i = 0; i < 2000 && seen < total / 3; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    seen = count_predictions(killed);
  }
  kill(child, SIGKILL);
  int status = 0;
  waitpid(child, &status, 0);
  REQUIRE(WIFSIGNALED(status));
  int64_t saved = count_predictions(killed);
  CAPTURE(saved);
  CHECK(saved > 0);
  CHECK(saved < total);

  RunnerOptions options;
  options.batch_size = 2;
  RunnerReport resumed = run_into(killed, e, dataset(12), options);
  CHECK(resumed.predictions_made == total - saved);  // nothing saved is made again
  CHECK(resumed.runs_complete == 12);
  run_into(dir / "uninterrupted.sqlite", e, dataset(12), options);
  auto a = contents(killed), b = contents(dir / "uninterrupted.sqlite");
  REQUIRE(a.size() == b.size());
  for (size_t i = 0; i < a.size(); ++i) CHECK(a[i] == b[i]);
}

TEST_CASE("shards 1/2 and 2/2 merged equal the unsharded run") {
  fs::path dir = scratch("shards");
  Experiment e = load_experiment(write_experiment(dir));
  Dataset d = dataset(11);
  auto first = select_shard(d.items, 1, 2), second = select_shard(d.items, 2, 2);
  CHECK(first.size() + second.size() == 11);
  CHECK(!first.empty());
  CHECK(!second.empty());
  for (const auto& item : first)
    for (const auto& other : second) CHECK(item.id != other.id);

  RunnerOptions all, one, two;
  one.shard_index = 1;
  one.shard_count = 2;
  two.shard_index = 2;
  two.shard_count = 2;
  run_into(dir / "all.sqlite", e, d, all);
  run_into(dir / "one.sqlite", e, d, one);
  run_into(dir / "two.sqlite", e, d, two);
  {
    ResultsStore merged(dir / "merged.sqlite");
    merged.merge_from(dir / "one.sqlite");
    merged.merge_from(dir / "two.sqlite");
    Scoring s = scoring(nullptr);  // merging needs no embedder: cosine per image is stored
    finalize_runs(merged, &s);
    merged.set_meta("shard", "1/1");
  }
  auto a = contents(dir / "merged.sqlite"), b = contents(dir / "all.sqlite");
  REQUIRE(a.size() == b.size());
  for (size_t i = 0; i < a.size(); ++i) CHECK(a[i] == b[i]);
}

namespace {

// dataset(n) with item `broken` pointing at a real file whose content the fake image side refuses.
Dataset dataset_with_broken_file(const fs::path& dir, int n, int broken, bool skip) {
  Dataset d = dataset(n);
  d.skip_errors = skip;
  d.items[broken].image = dir / (d.items[broken].id + ".png");
  std::ofstream(d.items[broken].image) << "broken: not an image";
  return d;
}

}  // namespace

TEST_CASE("on_error = skip: an image that cannot be decoded is recorded with its reason and the rest is captioned") {
  fs::path dir = scratch("broken-skip");
  Experiment e = load_experiment(write_experiment(dir));
  Dataset d = dataset_with_broken_file(dir, 7, 4, true);
  RunnerOptions options;
  options.batch_size = 3;
  RunnerReport report = run_into(dir / "results.sqlite", e, d, options);
  CHECK(report.images_skipped == 1);
  CHECK(report.runs_complete == 12);
  CHECK(report.predictions_made == 12 * 6);  // img103 and img105 share its batch and are captioned
  {
    ResultsStore store(dir / "results.sqlite");
    CHECK(store.images().size() == 6);
    for (const auto& p : store.predictions()) CHECK(p.image != "img104");
    std::vector<StoredSkip> images;
    for (const auto& s : store.skipped())
      if (!s.image.empty()) images.push_back(s);
    REQUIRE(images.size() == 1);
    CHECK(images[0].image == "img104");
    CHECK(images[0].where == d.items[4].image.string());
    CHECK(images[0].message == "cannot decode image (fake)");
    // Run metrics are over the 6 images captioned, and every run counts as complete.
    for (const auto& m : store.run_metrics()) CHECK(m.images == 6);
    CHECK(store.run_metrics().size() == 12 * 3);
  }

  // The next call has nothing to do and changes nothing: the image stays out.
  const auto before = contents(dir / "results.sqlite");
  RunnerReport again = run_into(dir / "results.sqlite", e, d, options);
  CHECK(again.predictions_made == 0);
  CHECK(again.images_skipped == 1);
  CHECK(again.runs_complete == 12);
  CHECK(contents(dir / "results.sqlite") == before);

  // Once the file is repaired (it changed), the image is tried again and captioned.
  std::ofstream(d.items[4].image) << "a repaired image";
  RunnerReport repaired = run_into(dir / "results.sqlite", e, d, options);
  CHECK(repaired.predictions_made == 12);
  CHECK(repaired.images_skipped == 0);
  ResultsStore store(dir / "results.sqlite");
  CHECK(store.images().size() == 7);
  for (const auto& s : store.skipped()) CHECK(s.image.empty());
  for (const auto& m : store.run_metrics()) CHECK(m.images == 7);
}

TEST_CASE("on_error = skip: a batch whose every image fails saves the skips and the sweep goes on") {
  fs::path dir = scratch("broken-batch");
  Experiment e = load_experiment(write_experiment(dir));
  Dataset d = dataset_with_broken_file(dir, 4, 0, true);
  d.items[1].image = dir / "img101.png";
  std::ofstream(d.items[1].image) << "broken too";
  RunnerOptions options;
  options.batch_size = 2;
  RunnerReport report = run_into(dir / "results.sqlite", e, d, options);
  CHECK(report.images_skipped == 2);
  CHECK(report.runs_complete == 12);
  CHECK(report.predictions_made == 12 * 2);
}

TEST_CASE("on_error = fail: an image that cannot be decoded ends the call with one line naming it") {
  fs::path dir = scratch("broken-fail");
  Experiment e = load_experiment(write_experiment(dir));
  Dataset d = dataset_with_broken_file(dir, 7, 4, false);
  RunnerOptions options;
  options.batch_size = 3;
  CHECK_THROWS_WITH_AS(run_into(dir / "results.sqlite", e, d, options),
                       (d.items[4].image.string() +
                        ": cannot decode image (fake) (set on_error = \"skip\" in the dataset table to leave such images out)")
                           .c_str(),
                       Error);
  // The first image side's first batch was saved; nothing of the failing batch was.
  ResultsStore store(dir / "results.sqlite");
  CHECK(store.predictions().size() == 8 * 3);
  for (const auto& p : store.predictions()) CHECK((p.image == "img100" || p.image == "img101" || p.image == "img102"));
}
