// `capbench merge` end to end: the two shards of a sweep, run into their own
// folders through the real plugins and merged, give the leaderboard and the
// captions of the unsharded run.
#include <doctest/doctest.h>

#include "app/results_store.h"
#include "tests/app/cli/sweep_fixture.h"

using namespace capbench;
using namespace capbench::testing;
namespace fs = std::filesystem;

namespace {

// An experiment that is the sweep's with another output folder.
fs::path experiment_into(const SweepFixture& sweep, const std::string& output) {
  const fs::path file = sweep.dir() / ("exp-" + output + ".toml");
  write_text(file, "extends = \"exp.toml\"\noutput = { dir = \"" + output + "\", submission = false }\n");
  return file;
}

std::vector<std::string> captions(const fs::path& dir) {
  std::vector<std::string> rows;
  for (const StoredPrediction& p : ResultsStore(dir / "results.sqlite").predictions())
    rows.push_back(p.run + " " + p.image + " " + std::to_string(p.rank) + " " + nlohmann::json(p.ids).dump());
  return rows;
}

// The leaderboard without the timings, which differ between runs.
nlohmann::json board(const fs::path& dir) {
  const CliResult r = capbench_cli({"leaderboard", dir.string(), "--format", "json"});
  REQUIRE(r.status == 0);
  nlohmann::json rows = r.json();
  for (auto& row : rows) row.erase("images_per_second");
  return rows;
}

}  // namespace

TEST_CASE("merge: two shards run apart and merged equal the unsharded run") {
  SweepFixture sweep(2);  // 4 images
  REQUIRE(sweep.run().status == 0);
  const fs::path a = experiment_into(sweep, "shard-a"), b = experiment_into(sweep, "shard-b");
  REQUIRE(capbench_cli({"run", a.string(), "--shard", "1/2"}).status == 0);
  REQUIRE(capbench_cli({"run", b.string(), "--shard", "2/2"}).status == 0);
  const fs::path merged = sweep.dir() / "merged";
  const CliResult r = capbench_cli({"merge", (sweep.dir() / "shard-a").string(), (sweep.dir() / "shard-b").string(),
                                    "--output", merged.string()});
  CAPTURE(r.err);
  REQUIRE(r.status == 0);
  CHECK(r.out.empty());
  CHECK(r.err == "capbench merge: 4 runs, 4 images in " + (merged / "results.sqlite").string() + "\n");
  CHECK(captions(merged) == captions(sweep.output()));
  const nlohmann::json merged_board = board(merged), whole_board = board(sweep.output());
  REQUIRE(merged_board.size() == 4);
  for (size_t i = 0; i < 4; ++i) {
    CHECK(merged_board[i]["run"] == whole_board[i]["run"]);
    CHECK(merged_board[i]["complete"] == true);
    // Within float noise: each shard embedded its captions in batches of other sizes.
    for (const auto& [metric, value] : whole_board[i]["metrics"].items())
      CHECK(merged_board[i]["metrics"][metric].get<double>() == doctest::Approx(value.get<double>()).epsilon(1e-6));
  }
  // Merging again changes nothing.
  REQUIRE(capbench_cli({"merge", (sweep.dir() / "shard-a").string(), "--output", merged.string()}).status == 0);
  CHECK(captions(merged) == captions(sweep.output()));
}

TEST_CASE("merge: bad arguments end with one line") {
  SweepFixture sweep;
  REQUIRE(sweep.run().status == 0);
  check_usage_error(capbench_cli({"merge", sweep.output().string(), "--output", sweep.output().string()}), "merge",
                    "is the --output folder itself");
  check_usage_error(capbench_cli({"merge", sweep.output().string()}), "merge", "--output");
  const fs::path missing = sweep.dir() / "missing";
  check_one_line_error(capbench_cli({"merge", missing.string(), "--output", (sweep.dir() / "m").string()}),
                       missing.string() + ": no results database");
}
