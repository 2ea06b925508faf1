// `capbench plan` end to end on the fixture sweep: the numbers and run ids a
// user reads before running, and after (what is done); bad input ends with one line.
#include <doctest/doctest.h>

#include <sstream>

#include "app/experiment/experiment.h"
#include "app/results_store.h"
#include "tests/app/cli/sweep_fixture.h"

using namespace capbench;
using namespace capbench::testing;

namespace {

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

}  // namespace

TEST_CASE("plan: images, runs, work, each run's id and progress, the shared image side") {
  SweepFixture sweep;
  const CliResult before = capbench_cli({"plan", sweep.experiment().string()});
  CAPTURE(before.err);
  REQUIRE(before.status == 0);
  const std::vector<std::string> lines = lines_of(before.out);
  REQUIRE(lines.size() == 17);
  CHECK(lines[0] == "experiment  e2e (" + sweep.experiment().string() + ")");
  CHECK(lines[1] == "images      2");
  CHECK(lines[2] == "runs        4");
  CHECK(lines[3] == "work        8 captions (images x runs)");
  CHECK(lines[4] == "output      " + sweep.output().string());
  CHECK(lines[5] == "scorer      minilm cosine,bleu4,cider");
  CHECK(lines[6].empty());
  CHECK(lines[7].rfind("run           settings", 0) == 0);
  const Experiment experiment = load_experiment(sweep.experiment());
  REQUIRE(experiment.runs.size() == 4);
  for (size_t i = 0; i < 4; ++i) {
    CHECK(lines[8 + i].rfind(experiment.runs[i].id + "  " + experiment.runs[i].label, 0) == 0);
    CHECK(lines[8 + i].find(" opt ") != std::string::npos);
    CHECK(lines[8 + i].substr(lines[8 + i].size() - 4) == " 0/2");
  }
  CHECK(lines[12].empty());
  CHECK(lines[13] == "settings that differ between runs: generate.num_beams generate.prompt");
  CHECK(lines[14].empty());
  CHECK(lines[15] == "image features: 1 encoder+bridge pass over the images (2 image encodings for 8 captions)");
  std::string group = "  1. blip2-vision + qformer from " + fixture("blip2-opt-tiny").string() + " (cpu, fp32): runs";
  for (const RunSpec& run : experiment.runs) group += " " + run.id;
  CHECK(lines[16] == group);

  // After the run: the same ids are in the database, each run done.
  REQUIRE(sweep.run().status == 0);
  std::vector<std::string> stored;
  for (const StoredRun& run : ResultsStore(sweep.output() / "results.sqlite").runs()) stored.push_back(run.id);
  std::vector<std::string> planned;
  for (const RunSpec& run : experiment.runs) planned.push_back(run.id);
  CHECK(stored == planned);
  const CliResult after = capbench_cli({"plan", sweep.experiment().string()});
  REQUIRE(after.status == 0);
  const std::vector<std::string> done = lines_of(after.out);
  CHECK(done[3] == "work        8 captions (images x runs), 0 still to do");
  for (size_t i = 0; i < 4; ++i) CHECK(done[8 + i].substr(done[8 + i].size() - 3) == "2/2");
}

TEST_CASE("plan: skipped dataset rows and shards are counted") {
  SweepFixture sweep(2);
  write_text(sweep.prompts(), read_text(sweep.prompts()) + "img9,an image that does not exist\n");
  const CliResult r = capbench_cli({"plan", sweep.experiment().string(), "--shard", "1/2"});
  REQUIRE(r.status == 0);
  const std::vector<std::string> lines = lines_of(r.out);
  CHECK(lines[1].rfind("images      ", 0) == 0);
  CHECK(lines[1].find(" (shard 1/2 of 4), 1 skipped") != std::string::npos);
}

TEST_CASE("plan: bad arguments and bad experiments end with one line") {
  SweepFixture sweep;
  check_usage_error(capbench_cli({"plan", sweep.experiment().string(), "--shard", "3/2"}), "plan",
                    "--shard K/N needs 1 <= K <= N (got '3/2')");
  check_usage_error(capbench_cli({"plan"}), "plan", "experiment");
  check_one_line_error(capbench_cli({"plan", (sweep.dir() / "none.toml").string()}), "none.toml");
  write_text(sweep.experiment(), read_text(sweep.experiment()) + "\nunknown_key = 1\n");
  check_one_line_error(capbench_cli({"plan", sweep.experiment().string()}), "unknown_key");
}
