// `capbench run` end to end through the real PluginComponents: a 4-run sweep
// on blip2-opt-tiny gives transformers' ids and beam scores for the two
// reference images; broken images are skipped with their reason (or end the
// run with one line); a second process, SIGTERM, a read-only or a full output
// folder each end with one clear line and an intact database.
#include <doctest/doctest.h>
#include <signal.h>
#include <sqlite3.h>
#include <torch/torch.h>

#include <chrono>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <thread>

#include "app/results_store.h"
#include "app/runner/output_lock.h"
#include "core/checkpoint.h"
#include "core/error.h"
#include "tests/app/cli/sweep_fixture.h"

using namespace capbench;
using namespace capbench::testing;
namespace fs = std::filesystem;

namespace {

// transformers' ids of reference case `name` for image `image` (0 = img1, 1 = img2), padding removed.
std::vector<int64_t> reference_ids(const std::string& name, int64_t image) {
  const at::Tensor row =
      Checkpoint::open(fixture("blip2-opt-tiny/references.safetensors")).view("gen." + name + ".sequences")[image];
  std::vector<int64_t> ids(row.data_ptr<int64_t>(), row.data_ptr<int64_t>() + row.numel());
  // Rows are [bos] + tokens up to EOS (2), then pads (1).
  const auto eos = std::find(ids.begin() + 1, ids.end(), 2);
  if (eos != ids.end()) ids.erase(eos + 1, ids.end());
  return ids;
}

double reference_score(const std::string& name, int64_t image) {
  return Checkpoint::open(fixture("blip2-opt-tiny/references.safetensors"))
      .view("gen." + name + ".sequences_scores")[image]
      .item<double>();
}

std::string integrity(const fs::path& db) {
  sqlite3* handle = nullptr;
  REQUIRE(sqlite3_open_v2(db.c_str(), &handle, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
  sqlite3_stmt* statement = nullptr;
  REQUIRE(sqlite3_prepare_v2(handle, "PRAGMA integrity_check", -1, &statement, nullptr) == SQLITE_OK);
  std::string result = sqlite3_step(statement) == SQLITE_ROW
                           ? reinterpret_cast<const char*>(sqlite3_column_text(statement, 0))
                           : sqlite3_errmsg(handle);
  sqlite3_finalize(statement);
  sqlite3_close(handle);
  return result;
}

// The captions of a results database (run, image, rank, ids, caption), timings left out.
std::vector<std::string> captions(const fs::path& db) {
  std::vector<std::string> rows;
  for (const StoredPrediction& p : ResultsStore(db).predictions())
    rows.push_back(p.run + " " + p.image + " " + std::to_string(p.rank) + " " + nlohmann::json(p.ids).dump() + " " +
                   p.caption);
  return rows;
}

int64_t saved_captions(const fs::path& db) {
  if (!fs::exists(db)) return 0;
  try {
    return static_cast<int64_t>(ResultsStore(db).predictions().size());
  } catch (const Error&) {
    return 0;  // busy: the run is writing
  }
}

// The run's settings as the database keeps them.
std::pair<int64_t, std::string> beams_and_prompt(const StoredRun& run) {
  const nlohmann::json settings = nlohmann::json::parse(run.settings_json);
  return {settings["generate"]["num_beams"].get<int64_t>(), settings["generate"]["prompt"].get<std::string>()};
}

// Every run of the fixture sweep captioned img1 and img2 as transformers does.
void check_reference_captions(const fs::path& db, const std::vector<std::string>& images = {"img1", "img2"}) {
  ResultsStore store(db);
  const std::vector<StoredRun> runs = store.runs();
  REQUIRE(runs.size() == 4);
  for (const StoredRun& run : runs) {
    const auto [beams, prompt] = beams_and_prompt(run);
    const std::string name = reference_case(beams, prompt);
    CAPTURE(name);
    const std::vector<StoredPrediction> predictions = store.predictions(run.id);
    REQUIRE(predictions.size() == images.size());
    for (const StoredPrediction& p : predictions) {
      CAPTURE(p.image);
      const int64_t image = (std::stoi(p.image.substr(3)) - 1) % 2;  // imgN is a copy of reference image (N - 1) % 2
      CHECK(p.ids == reference_ids(name, image));
      if (beams > 1) CHECK(std::abs(p.score - reference_score(name, image)) < 1e-4);
    }
  }
}

// Waits until `run` has saved its first batch, then stops it (SIGSTOP) with its
// locks held, so that a test meets it running however fast it is.
void pause_after_first_batch(CliProcess& run, const fs::path& db) {
  for (int i = 0; i < 6000 && saved_captions(db) == 0 && !run.ended(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  REQUIRE(kill(run.pid(), SIGSTOP) == 0);
  REQUIRE_FALSE(run.ended());
  REQUIRE(saved_captions(db) > 0);
}

}  // namespace

TEST_CASE("run: the sweep through the real plugins gives transformers' captions, scores every run and resumes") {
  SweepFixture sweep;
  const CliResult r = sweep.run();
  CAPTURE(r.err);
  REQUIRE(r.status == 0);
  CHECK(r.out == "see the results: capbench leaderboard " + sweep.output().string() + "\n");
  CHECK(r.err.find("capbench run: e2e: 4 runs x 2 images, 8 captions to make (0 already saved)") != std::string::npos);
  CHECK(r.err.find("capbench run: 4/4 runs complete, 8 captions made in ") != std::string::npos);
  const fs::path db = sweep.output() / "results.sqlite";
  check_reference_captions(db);
  {
    ResultsStore store(db);
    CHECK(store.images().size() == 2);
    CHECK(store.run_metrics().size() == 4 * 3);  // cosine, bleu4, cider per run
    for (const StoredRunMetric& m : store.run_metrics()) CHECK(m.images == 2);
    CHECK(store.scores().size() >= 4 * 2);  // per-image cosine at least
    for (const StoredRun& run : store.runs()) CHECK(fs::exists(sweep.output() / ("submission-" + run.id + ".csv")));
    CHECK(fs::exists(sweep.output() / "submission.csv"));
  }
  CHECK(integrity(db) == "ok");

  // Again: nothing to do, nothing changes.
  const std::vector<std::string> before = captions(db);
  const CliResult again = sweep.run();
  REQUIRE(again.status == 0);
  CHECK(again.err.find("0 captions to make (8 already saved)") != std::string::npos);
  CHECK(captions(db) == before);
}

TEST_CASE("run: broken image files are skipped with their reasons under on_error = skip, the rest captioned") {
  SweepFixture sweep;
  // One batch holds them all (8 images): the good ones share it with the bad.
  write_text(sweep.images() / "bad1.png", "this is a text file, not an image");
  const std::vector<uint8_t> jpeg = read_bytes(fixture("images/rgb_300x500.jpg"));
  write_bytes(sweep.images() / "bad2.jpg", std::vector<uint8_t>(jpeg.begin(), jpeg.begin() + jpeg.size() / 2));
  write_bytes(sweep.images() / "bad3.png", {});
  // A PNG whose header claims 20000 x 20000 pixels: more than PIL (and so transformers) opens.
  std::vector<uint8_t> huge = read_bytes(fixture("images/rgb_640x480.png"));
  huge[16] = 0, huge[17] = 0, huge[18] = 0x4E, huge[19] = 0x20, huge[20] = 0, huge[21] = 0, huge[22] = 0x4E, huge[23] = 0x20;
  write_bytes(sweep.images() / "bad4.png", huge);
  std::string prompts = read_text(sweep.prompts());
  for (int i = 1; i <= 4; ++i) prompts += "bad" + std::to_string(i) + ",a broken picture\n";
  write_text(sweep.prompts(), prompts);

  const CliResult r = sweep.run();
  CAPTURE(r.err);
  REQUIRE(r.status == 0);
  CHECK(r.err.find("4/4 runs complete, 8 captions made") != std::string::npos);
  CHECK(r.err.find("4 images skipped") != std::string::npos);
  const fs::path db = sweep.output() / "results.sqlite";
  check_reference_captions(db);
  std::map<std::string, std::string> reasons;  // image -> reason
  {
    ResultsStore store(db);
    for (const StoredSkip& s : store.skipped())
      if (!s.image.empty()) reasons[s.image] = s.where + ": " + s.message;
    CHECK(store.images().size() == 2);
    for (const StoredRunMetric& m : store.run_metrics()) CHECK(m.images == 2);
  }
  REQUIRE(reasons.size() == 4);
  CHECK(reasons["bad1"] == (sweep.images() / "bad1.png").string() +
                               ": cannot decode image (not an image, an unsupported format, or damaged)");
  CHECK(reasons["bad2"] == (sweep.images() / "bad2.jpg").string() + ": JPEG image is truncated");
  CHECK(reasons["bad3"] == (sweep.images() / "bad3.png").string() + ": image file is empty");
  CHECK(reasons["bad4"].find("bad4.png: image is too large (400000000 pixels") != std::string::npos);

  // The leaderboard counts the 2 captioned images, every run complete.
  const CliResult board = capbench_cli({"leaderboard", sweep.output().string(), "--format", "json"});
  REQUIRE(board.status == 0);
  for (const auto& row : board.json()) {
    CHECK(row["images"] == 2);
    CHECK(row["images_total"] == 2);
    CHECK(row["complete"] == true);
  }
  // Later runs complete at once: the skipped images stay out until their files change.
  const std::vector<std::string> before = captions(db);
  const CliResult again = sweep.run();
  REQUIRE(again.status == 0);
  CHECK(again.err.find("4 runs x 6 images, 0 captions to make (8 already saved; 4 images skipped by an earlier run)") !=
        std::string::npos);
  CHECK(captions(db) == before);
  CHECK(integrity(db) == "ok");
}

TEST_CASE("run: a two-image folder with one broken file captions the other image") {
  SweepFixture sweep;
  write_text(sweep.images() / "img2.jpg", "broken");
  const CliResult r = sweep.run();
  CAPTURE(r.err);
  REQUIRE(r.status == 0);
  check_reference_captions(sweep.output() / "results.sqlite", {"img1"});
}

TEST_CASE("run: under on_error = fail a broken image ends the run with one line naming it, nothing of its batch saved") {
  SweepFixture sweep;
  std::string toml = read_text(sweep.experiment());
  toml.replace(toml.find("on_error = \"skip\""), 17, "on_error = \"fail\"");
  write_text(sweep.experiment(), toml);
  write_text(sweep.images() / "img3.png", "not an image");
  write_text(sweep.prompts(), read_text(sweep.prompts()) + "img3,a picture\n");
  const CliResult r = sweep.run();
  check_last_line_error(r, (sweep.images() / "img3.png").string() +
                              ": cannot decode image (not an image, an unsupported format, or damaged) (set on_error = "
                              "\"skip\" in the dataset table to leave such images out)");
  CHECK(saved_captions(sweep.output() / "results.sqlite") == 0);
  // The same every time, until the file is fixed or skipped.
  check_last_line_error(sweep.run(), "img3.png: cannot decode image");
}

TEST_CASE("run: an image that fails after decoding (preprocessing) is skipped with its reason") {
  // Without resizing, images of another size than the first of a batch cannot be batched.
  SweepFixture sweep(0, "");
  const fs::path model = sweep.dir() / "model";
  fs::create_directories(model);
  for (const auto& entry : fs::directory_iterator(fixture("blip2-opt-tiny")))
    if (entry.path().filename() != "preprocessor_config.json") fs::create_symlink(entry.path(), model / entry.path().filename());
  nlohmann::json config = read_json_file(fixture("blip2-opt-tiny/preprocessor_config.json"));
  config["do_resize"] = false;
  write_text(model / "preprocessor_config.json", config.dump());
  std::string toml = read_text(sweep.experiment());
  toml.replace(toml.find(fixture("blip2-opt-tiny").string()), fixture("blip2-opt-tiny").string().size(), model.string());
  write_text(sweep.experiment(), toml);
  // img0: 224 x 224 (what the ViT takes), first of the batch; img1 and img2 keep their own sizes.
  cv::Mat picture = cv::imread(fixture("images/rgb_640x480.png").string()), small;
  cv::resize(picture, small, cv::Size(224, 224));
  REQUIRE(cv::imwrite((sweep.images() / "img0.png").string(), small));
  write_text(sweep.prompts(), read_text(sweep.prompts()) + "img0,a small picture\n");

  const CliResult r = sweep.run();
  CAPTURE(r.err);
  REQUIRE(r.status == 0);
  ResultsStore store(sweep.output() / "results.sqlite");
  CHECK(store.images().size() == 1);
  for (const StoredRun& run : store.runs()) {
    const auto predictions = store.predictions(run.id);
    REQUIRE(predictions.size() == 1);
    CHECK(predictions[0].image == "img0");
  }
  int skipped = 0;
  for (const StoredSkip& s : store.skipped())
    if (!s.image.empty()) {
      ++skipped;
      CHECK(s.message.find("image size differs from " + (sweep.images() / "img0.png").string() +
                           " and do_resize is false") != std::string::npos);
    }
  CHECK(skipped == 2);
}

TEST_CASE("run: a second run on the same output folder ends with one line naming the first; SIGTERM saves and exits 143") {
  SweepFixture sweep(40);  // 42 images x 4 runs
  CliProcess first({"run", sweep.experiment().string(), "--batch-size", "2"});
  const fs::path db = sweep.output() / "results.sqlite";
  pause_after_first_batch(first, db);

  const CliResult second = capbench_cli({"run", sweep.experiment().string()});
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  check_one_line_error(second, sweep.output().string() + ": the output folder is in use by another capbench run (pid " +
                                   std::to_string(first.pid()) + " on host " + host + " since ");

  REQUIRE(kill(first.pid(), SIGTERM) == 0);
  REQUIRE(kill(first.pid(), SIGCONT) == 0);
  const CliResult stopped = first.wait();
  CAPTURE(stopped.err);
  CHECK(stopped.status == 143);
  CHECK(stopped.err.find("capbench run: terminated; ") != std::string::npos);
  CHECK(stopped.err.find("captions saved. Run the same command again to continue.") != std::string::npos);
  CHECK(integrity(db) == "ok");
  const int64_t saved = saved_captions(db);
  CHECK(saved % 8 == 0);  // whole batches: 2 images x 4 runs
  CHECK(saved < 42 * 4);

  // The same command finishes the sweep, with the database an uninterrupted run writes.
  const CliResult resumed = capbench_cli({"run", sweep.experiment().string(), "--batch-size", "2"});
  REQUIRE(resumed.status == 0);
  CHECK(saved_captions(db) == 42 * 4);
  const fs::path resumed_copy = sweep.dir() / "resumed.sqlite";
  fs::copy_file(db, resumed_copy);
  fs::remove_all(sweep.output());
  REQUIRE(capbench_cli({"run", sweep.experiment().string(), "--batch-size", "2"}).status == 0);
  CHECK(captions(resumed_copy) == captions(db));
}

TEST_CASE("run: the lock names the process that holds it, and a folder is free again when its run ends") {
  SweepFixture sweep;
  fs::create_directories(sweep.output());
  {
    const OutputLock held(sweep.output());
    check_one_line_error(sweep.run(), "in use by another capbench run (pid " + std::to_string(getpid()) + " on host ");
  }
  CHECK(sweep.run().status == 0);
}

TEST_CASE("run: a read-only output folder ends with one line and leaves the database as it was") {
  SweepFixture sweep;
  REQUIRE(sweep.run().status == 0);  // a complete database to protect
  const fs::path db = sweep.output() / "results.sqlite";
  const std::vector<std::string> before = captions(db);
  // New run ids (another max_new_tokens) would have to be written.
  std::string toml = read_text(sweep.experiment());
  toml.replace(toml.find("max_new_tokens = 12"), 19, "max_new_tokens = 13");
  write_text(sweep.experiment(), toml);
  fs::permissions(sweep.output(), fs::perms::owner_read | fs::perms::owner_exec | fs::perms::group_read |
                                      fs::perms::group_exec | fs::perms::others_read | fs::perms::others_exec);
  CliOptions options;
  if (geteuid() == 0) options.wrapper = {"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--"};  // root writes anywhere
  const CliResult r = capbench_cli({"run", sweep.experiment().string()}, options);
  fs::permissions(sweep.output(), fs::perms::owner_all, fs::perm_options::add);
  check_one_line_error(r, sweep.output().string() + ": cannot write in the output folder (");
  CHECK(captions(db) == before);
  CHECK(integrity(db) == "ok");
}

TEST_CASE("run: a write that fails mid-run (file size limit) ends with one line; the database stays whole") {
  SweepFixture sweep(14);  // 16 images
  CliOptions options;
  options.wrapper = {"prlimit", "--fsize=70000", "--"};  // bytes per file: room for a few batches only
  const CliResult r = capbench_cli({"run", sweep.experiment().string(), "--batch-size", "2"}, options);
  CAPTURE(r.err);
  check_last_line_error(r, "results.sqlite: cannot save results: the disk ");
  const fs::path db = sweep.output() / "results.sqlite";
  CHECK(integrity(db) == "ok");
  const int64_t saved = saved_captions(db);
  CHECK(saved % 8 == 0);
  // Without the limit the same command completes it.
  REQUIRE(capbench_cli({"run", sweep.experiment().string(), "--batch-size", "2"}).status == 0);
  CHECK(saved_captions(db) == 16 * 4);
}

TEST_CASE("run: distinct shards share an output folder; a run over every image waits its turn") {
  SweepFixture sweep(40);
  CliProcess first({"run", sweep.experiment().string(), "--batch-size", "2", "--shard", "1/2"});
  const fs::path db = sweep.output() / "results.sqlite";
  pause_after_first_batch(first, db);
  check_one_line_error(capbench_cli({"run", sweep.experiment().string()}),
                       "in use by another capbench run (pid " + std::to_string(first.pid()) + " on host ");
  check_one_line_error(capbench_cli({"run", sweep.experiment().string(), "--shard", "1/2"}), ", shard 1/2)");
  check_one_line_error(capbench_cli({"run", sweep.experiment().string(), "--shard", "2/3"}), ", shard 1/2)");
  REQUIRE(kill(first.pid(), SIGCONT) == 0);  // both shards write at once from here
  const CliResult second = capbench_cli({"run", sweep.experiment().string(), "--batch-size", "2", "--shard", "2/2"});
  CAPTURE(second.err);
  CHECK(second.status == 0);
  CHECK(first.wait().status == 0);
  CHECK(saved_captions(db) == 42 * 4);
  CHECK(integrity(db) == "ok");
}
