// `capbench run` under mpirun and as SLURM job-array tasks, end to end with the
// real plugins on a small random BLIP-2: the merged database equals a single
// process's prediction by prediction; a rank killed with SIGKILL, or one that
// fails, leaves a job that the same command completes; array variables pick
// the shard. Every child runs with one thread, so that captions and scores are
// the same to the last bit in every process, and with batches of one image, so
// that every image is computed alike whatever shard it falls in.
#include <doctest/doctest.h>
#include <sqlite3.h>

#include <array>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <regex>
#include <set>
#include <spawn.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include "app/distributed/mpi_world.h"
#include "app/distributed/shards.h"
#include "app/results_store.h"
#include "app/runner/runner.h"
#include "core/random_blip2.h"
#include "datasets/dataset.h"
#include "tests/test_support.h"

extern char** environ;

namespace fs = std::filesystem;
using namespace capbench;
using capbench::testing::fixture;
using capbench::testing::source_dir;

namespace {

const int kRuns = 4;  // the sweep below
const int kImages = 18;

struct Result {
  int status = -1;
  std::string output;  // stdout and stderr together
};

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

std::string sh_quote(const fs::path& path) { return "'" + path.string() + "'"; }

// What every child gets: no launcher or array variables from the test's own
// environment, one thread, and for mpirun the permission to run as root (CI)
// and a local launch that needs no ssh and no network.
std::string child_environment() {
  std::string env = "env -u SLURM_ARRAY_TASK_ID -u SLURM_STEP_ID -u OMPI_COMM_WORLD_SIZE -u PMIX_RANK -u PMI_RANK "
                    "-u PMI_SIZE OMP_NUM_THREADS=1 OMPI_MCA_plm=isolated OMPI_MCA_btl=self,vader "
                    "OMPI_MCA_btl_vader_single_copy_mechanism=none ";
  if (geteuid() == 0) env += "OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 ";
  return env;
}

std::string capbench_bin() {
  const char* bin = std::getenv("CAPBENCH_BIN");
  REQUIRE_MESSAGE(bin != nullptr, "CAPBENCH_BIN is set by CTest");
  return bin;
}

Result shell(const std::string& command) {
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  REQUIRE(pipe != nullptr);
  Result result;
  std::array<char, 4096> buffer{};
  while (size_t n = fread(buffer.data(), 1, buffer.size(), pipe)) result.output.append(buffer.data(), n);
  int status = pclose(pipe);
  result.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

// `capbench ARGS` as one process, with extra environment variables.
Result run_capbench(const std::string& args, const std::string& env = "") {
  return shell("timeout 300 " + child_environment() + env + " " + capbench_bin() + " " + args);
}

std::string mpirun_command(int ranks, const std::string& args) {
  return "timeout 300 " + child_environment() + "mpirun --oversubscribe -np " + std::to_string(ranks) + " " +
         capbench_bin() + " " + args;
}

// The sweep every test runs: a small random BLIP-2, kImages images (the demo's
// and the test images under ids of their own), four decoding settings, the
// tiny MiniLM scorer, submissions on.
class Sweep {
 public:
  Sweep() {
    RandomBlip2Options model;
    model.vision_hidden = 64;
    model.vision_layers = 2;
    model.qformer_hidden = 64;
    model.text_hidden = 96;
    model.text_layers = 3;
    model.text_ffn = 384;
    model.text_heads = 4;
    model.seed = 3;
    model.init_std = 0.2;  // large enough that captions differ from image to image
    model.tokenizer = fixture("blip2-opt-tiny");
    write_random_blip2(dir_ / "model", model);

    std::vector<fs::path> files;
    for (const char* folder : {"experiments/demo/images", "tests/fixtures/images"})
      for (const auto& entry : fs::directory_iterator(source_dir() / folder))
        if (entry.path().extension() == ".png" || entry.path().extension() == ".jpg") files.push_back(entry.path());
    std::sort(files.begin(), files.end());
    REQUIRE(!files.empty());
    fs::create_directories(dir_ / "data" / "images");
    std::string prompts = "imgId,prompt\n";
    for (int i = 0; i < kImages; ++i) {
      std::string id = "img" + std::to_string(100 + i);
      const fs::path& file = files[static_cast<size_t>(i) % files.size()];
      fs::copy_file(file, dir_ / "data" / "images" / (id + file.extension().string()));
      prompts += id + ",a photo of subject " + std::to_string(i % 5) + " in soft light\n";
      ids_.push_back(id);
    }
    capbench::testing::write_text(dir_ / "data" / "prompts.csv", prompts);
  }

  // An experiment file writing to OUTPUT folder `name` (run ids do not depend on it).
  fs::path experiment(const std::string& name) const {
    fs::path file = dir_ / (name + ".toml");
    capbench::testing::write_text(file, R"(name = "mpi-test"
device = "cpu"
dtype = "fp32"
dataset = { kind = "sdip", root = "data" }
model = { checkpoint = "model" }
encoder = { plugin = "blip2-vision" }
bridge = { plugin = "qformer" }
decoder = { plugin = "opt" }
generate = { max_new_tokens = 16 }
scorer = { plugin = "minilm", checkpoint = ")" + fixture("minilm-tiny").string() +
                                         R"(", metrics = ["cosine", "bleu4", "cider"] }
output = { dir = ")" + name + R"(", submission = true }

[sweep]
"generate.num_beams" = [1, 3]
"generate.prompt" = ["", "a photo of"]
)");
    return file;
  }

  fs::path output(const std::string& name) const { return dir_ / name; }
  const std::vector<std::string>& ids() const { return ids_; }

  // The ids of shard K/N, as --shard K/N takes them.
  std::set<std::string> shard_ids(int64_t k, int64_t n) const {
    std::vector<DatasetItem> items;
    for (const std::string& id : ids_) items.push_back({id, "", {}});
    std::set<std::string> out;
    for (const DatasetItem& item : select_shard(items, k, n)) out.insert(item.id);
    return out;
  }

 private:
  capbench::testing::TempDir dir_;
  std::vector<std::string> ids_;
};

const Sweep& sweep() {
  static Sweep s;
  return s;
}

// Everything stored except timings, as comparable lines: every prediction with
// its token ids and search score, every score, every metric.
std::vector<std::string> contents(const fs::path& db) {
  ResultsStore store(db);
  auto number = [](double v) {
    char text[40];
    std::snprintf(text, sizeof text, "%.17g", v);
    return std::string(text);
  };
  std::vector<std::string> rows;
  for (const auto& r : store.runs()) rows.push_back("run " + r.id + " " + r.label + " " + r.settings_json);
  for (const auto& i : store.images()) rows.push_back("image " + i.id + " " + i.path);
  for (const auto& p : store.predictions()) {
    std::string ids;
    for (int64_t id : p.ids) ids += std::to_string(id) + ",";
    rows.push_back("prediction " + p.run + " " + p.image + " " + std::to_string(p.rank) + " " + p.caption + " [" + ids +
                   "] " + number(p.score));
  }
  for (const auto& s : store.scores()) rows.push_back("score " + s.run + " " + s.image + " " + s.metric + " " + number(s.value));
  for (const auto& m : store.run_metrics())
    rows.push_back("metric " + m.run + " " + m.metric + " " + number(m.value) + " " + std::to_string(m.images));
  for (const auto& s : store.skipped()) rows.push_back("skipped " + s.where + " " + s.message);
  return rows;
}

void check_same_database(const fs::path& a, const fs::path& b) {
  auto x = contents(a), y = contents(b);
  REQUIRE(x.size() == y.size());
  for (size_t i = 0; i < x.size(); ++i) CHECK(x[i] == y[i]);
}

// The single-process run every distributed result is compared with.
const fs::path& reference() {
  static const fs::path db = [] {
    Result r = run_capbench("run " + sh_quote(sweep().experiment("single")) + " --batch-size 1");
    INFO(r.output);
    REQUIRE(r.status == 0);
    fs::path file = sweep().output("single") / "results.sqlite";
    // Comparisons mean something only if captions depend on the image and the settings.
    std::set<std::string> captions;
    for (const auto& p : ResultsStore(file).predictions()) captions.insert(p.caption);
    REQUIRE(captions.size() > 8);
    return file;
  }();
  return db;
}

// Captions (rank 0) in a database, read without writing (the file may be in use).
int64_t captions_in(const fs::path& db) {
  sqlite3* handle = nullptr;
  int64_t n = 0;
  if (sqlite3_open_v2(db.string().c_str(), &handle, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
    sqlite3_busy_timeout(handle, 1000);
    sqlite3_stmt* statement = nullptr;
    if (sqlite3_prepare_v2(handle, "SELECT count(*) FROM predictions WHERE rank = 0", -1, &statement, nullptr) == SQLITE_OK &&
        sqlite3_step(statement) == SQLITE_ROW)
      n = sqlite3_column_int64(statement, 0);
    sqlite3_finalize(statement);
  }
  sqlite3_close(handle);
  return n;
}

int64_t captions_in_shards(const fs::path& output) {
  int64_t n = 0;
  for (const auto& shard : distributed::find_shard_databases(output)) n += captions_in(shard.file);
  return n;
}

// "N captions to make (M already saved)" of a run's header.
std::pair<int64_t, int64_t> planned(const std::string& output) {
  std::smatch m;
  REQUIRE_MESSAGE(std::regex_search(output, m, std::regex(R"(([0-9]+) captions to make \(([0-9]+) already saved\))")),
                  output);
  return {std::stoll(m[1]), std::stoll(m[2])};
}

// The process of the job marked `marker` that is MPI rank `rank`, or 0.
pid_t find_rank(const std::string& marker, int rank) {
  const std::string want_marker = "CAPBENCH_TEST_JOB=" + marker, want_rank = "OMPI_COMM_WORLD_RANK=" + std::to_string(rank);
  for (const auto& entry : fs::directory_iterator("/proc")) {
    const std::string name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::string env = capbench::testing::read_text(entry.path() / "environ");
    bool marked = false, ranked = false;
    for (size_t start = 0; start < env.size();) {
      size_t end = env.find('\0', start);
      if (end == std::string::npos) end = env.size();
      std::string var = env.substr(start, end - start);
      marked = marked || var == want_marker;
      ranked = ranked || var == want_rank;
      start = end + 1;
    }
    if (marked && ranked) return static_cast<pid_t>(std::stol(name));
  }
  return 0;
}

bool mpi_ready() {
  if (!distributed::MpiWorld::available()) {
    MESSAGE("SKIPPED: capbench was built without MPI (-DCAPBENCH_WITH_MPI=OFF)");
    return false;
  }
  return true;
}

}  // namespace

TEST_CASE("mpirun -np 3 gives the database of a single process, prediction by prediction") {
  if (!mpi_ready()) return;
  const fs::path& single = reference();
  Result r = shell(mpirun_command(3, "run " + sh_quote(sweep().experiment("mpi")) + " --batch-size 1"));
  INFO(r.output);
  REQUIRE(r.status == 0);
  // Each rank says which shard and device it took; rank 0 plans for all, merges, ranks.
  for (int rank = 0; rank < 3; ++rank)
    CHECK(contains(r.output, "capbench run: rank " + std::to_string(rank) + " of 3 on "));
  CHECK(contains(r.output, ": shard 2/3, device cpu, 1 thread"));
  CHECK(contains(r.output, "4 runs x 18 images in 3 shards, 72 captions to make (0 already saved)"));
  CHECK(contains(r.output, "merged 3 shard databases (1/3, 2/3, 3/3)"));
  CHECK(contains(r.output, "4/4 runs complete, 72 captions made"));
  CHECK(contains(r.output, "ranked by cosine"));
  for (int64_t k = 1; k <= 3; ++k) {
    fs::path db = distributed::shard_folder(sweep().output("mpi"), {k, 3}) / "results.sqlite";
    ResultsStore shard(db);
    std::set<std::string> images;
    for (const auto& image : shard.images()) images.insert(image.id);
    CHECK(images == sweep().shard_ids(k, 3));
  }
  check_same_database(sweep().output("mpi") / "results.sqlite", single);
  // What a single process writes beside its database.
  CHECK(capbench::testing::read_text(sweep().output("mpi") / "submission.csv") ==
        capbench::testing::read_text(sweep().output("single") / "submission.csv"));

  // Again: nothing to make, the merge completes as before.
  Result again = shell(mpirun_command(3, "run " + sh_quote(sweep().experiment("mpi")) + " --batch-size 1"));
  INFO(again.output);
  REQUIRE(again.status == 0);
  CHECK(contains(again.output, "0 captions to make (72 already saved)"));
  check_same_database(sweep().output("mpi") / "results.sqlite", single);
}

TEST_CASE("a rank killed with SIGKILL mid-run: the same command again resumes every shard and completes the merge") {
  if (!mpi_ready()) return;
  const fs::path& single = reference();
  const fs::path experiment = sweep().experiment("killed");
  const fs::path output = sweep().output("killed");
  const std::string marker = output.string();
  const fs::path log = output.string() + ".log";
  std::string command =
      "exec env CAPBENCH_TEST_JOB=" + sh_quote(marker) + " " + mpirun_command(3, "run " + sh_quote(experiment) + " --batch-size 1") +
      " >" + sh_quote(log) + " 2>&1";
  // `timeout` runs mpirun as its child: the ranks carry the marker in their environment.
  std::string sh = "/bin/sh", dash_c = "-c";
  char* argv[] = {sh.data(), dash_c.data(), command.data(), nullptr};
  pid_t job = 0;
  REQUIRE(posix_spawn(&job, "/bin/sh", nullptr, nullptr, argv, environ) == 0);

  // Rank 1 writes shard 2/3; kill it once it has saved some, not all, of its captions.
  const fs::path db = distributed::shard_folder(output, {2, 3}) / "results.sqlite";
  const int64_t shard_total = static_cast<int64_t>(sweep().shard_ids(2, 3).size()) * kRuns;
  int64_t seen = 0;
  pid_t rank = 0;
  for (int i = 0; i < 60000 && seen == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
    if (fs::exists(db)) seen = captions_in(db);
    if (!rank) rank = find_rank(marker, 1);
  }
  REQUIRE(rank != 0);
  REQUIRE(kill(rank, SIGKILL) == 0);
  int status = 0;
  waitpid(job, &status, 0);
  std::string killed_output = capbench::testing::read_text(log);
  INFO(killed_output);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) != 0);
  CHECK(contains(killed_output, "rank 1"));
  const int64_t saved_in_shard = captions_in(db);
  CAPTURE(saved_in_shard);
  CHECK(saved_in_shard > 0);
  CHECK(saved_in_shard < shard_total);  // killed mid-run
  const int64_t saved = captions_in_shards(output);

  Result resumed = shell(mpirun_command(3, "run " + sh_quote(experiment) + " --batch-size 1"));
  INFO(resumed.output);
  REQUIRE(resumed.status == 0);
  auto [to_make, already] = planned(resumed.output);
  CHECK(already == saved);  // nothing saved is made again
  CHECK(to_make == kImages * kRuns - saved);
  check_same_database(output / "results.sqlite", single);
}

TEST_CASE("a failing rank makes the job fail naming it; the other shards are kept and the next run completes") {
  if (!mpi_ready()) return;
  const fs::path& single = reference();
  const fs::path experiment = sweep().experiment("failing");
  const fs::path output = sweep().output("failing");
  // Rank 1 cannot create its shard folder: a file is in the way.
  const fs::path blocker = distributed::shard_folder(output, {2, 3});
  fs::create_directories(blocker.parent_path());
  capbench::testing::write_text(blocker, "in the way");

  Result failed = shell(mpirun_command(3, "run " + sh_quote(experiment) + " --batch-size 1"));
  INFO(failed.output);
  CHECK(failed.status == 1);
  CHECK(contains(failed.output, "capbench run: rank 1 of 3 failed: error: "));
  CHECK(contains(failed.output, "2-of-3"));
  CHECK(contains(failed.output, "run the same command again"));
  CHECK_FALSE(fs::exists(output / "results.sqlite"));  // nothing merged from an incomplete job
  const int64_t others = static_cast<int64_t>(sweep().shard_ids(1, 3).size() + sweep().shard_ids(3, 3).size()) * kRuns;
  CHECK(captions_in_shards(output) == others);  // ranks 0 and 2 finished their shards

  fs::remove(blocker);
  Result resumed = shell(mpirun_command(3, "run " + sh_quote(experiment) + " --batch-size 1"));
  INFO(resumed.output);
  REQUIRE(resumed.status == 0);
  auto [to_make, already] = planned(resumed.output);
  CHECK(already == others);
  CHECK(to_make == static_cast<int64_t>(sweep().shard_ids(2, 3).size()) * kRuns);
  check_same_database(output / "results.sqlite", single);
}

TEST_CASE("--shard with mpirun is a usage error") {
  if (!mpi_ready()) return;
  Result r = shell(mpirun_command(2, "run " + sh_quote(sweep().experiment("usage")) + " --shard 1/2"));
  CHECK(r.status == 2);
  CHECK(contains(r.output, "each rank takes its own shard"));
}

TEST_CASE("SLURM job-array variables pick the shard; capbench merge EXPERIMENT.toml combines the tasks") {
  const fs::path& single = reference();
  const fs::path experiment = sweep().experiment("array");
  const fs::path output = sweep().output("array");
  auto task = [&](int id) {
    // --array=0-2: ids 0, 1, 2 are shards 1/3, 2/3, 3/3.
    return run_capbench("run " + sh_quote(experiment) + " --batch-size 1",
                    "SLURM_ARRAY_TASK_ID=" + std::to_string(id) +
                        " SLURM_ARRAY_TASK_MIN=0 SLURM_ARRAY_TASK_MAX=2 SLURM_ARRAY_TASK_COUNT=3");
  };
  for (int id : {0, 1}) {
    Result r = task(id);
    INFO(r.output);
    REQUIRE(r.status == 0);
    CHECK(contains(r.output, "job array task, shard " + std::to_string(id + 1) + "/3"));
    CHECK(contains(r.output, "capbench merge"));
    ResultsStore shard(distributed::shard_folder(output, {id + 1, 3}) / "results.sqlite");
    std::set<std::string> images;
    for (const auto& image : shard.images()) images.insert(image.id);
    CHECK(images == sweep().shard_ids(id + 1, 3));
  }
  CHECK_FALSE(fs::exists(output / "submission.csv"));  // tasks write their shard only

  // A merge before the last task: its images are there, without captions.
  Result early = run_capbench("merge " + sh_quote(experiment));
  INFO(early.output);
  REQUIRE(early.status == 0);
  CHECK(contains(early.output, "no database for shard 3/3 yet"));
  CHECK(contains(early.output, "0/4 runs complete"));
  CHECK(ResultsStore(output / "results.sqlite").images().size() == static_cast<size_t>(kImages));

  Result last = task(2);
  INFO(last.output);
  REQUIRE(last.status == 0);
  Result merged = run_capbench("merge " + sh_quote(experiment));
  INFO(merged.output);
  REQUIRE(merged.status == 0);
  CHECK(contains(merged.output, "merged 3 shard databases (1/3, 2/3, 3/3)"));
  CHECK(contains(merged.output, "4/4 runs complete"));
  check_same_database(output / "results.sqlite", single);
  CHECK(capbench::testing::read_text(output / "submission.csv") ==
        capbench::testing::read_text(sweep().output("single") / "submission.csv"));

  // --shard auto outside a job array says what it needs; --shard K/N stays as it was.
  Result outside = run_capbench("run " + sh_quote(experiment) + " --shard auto");
  CHECK(outside.status == 2);
  CHECK(contains(outside.output, "SLURM_ARRAY_TASK_ID is not set"));
  Result explicit_shard = run_capbench("plan " + sh_quote(experiment) + " --shard 2/3");
  CHECK(explicit_shard.status == 0);
  CHECK(contains(explicit_shard.output, "shard 2/3"));
}

