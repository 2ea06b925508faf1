// `capbench leaderboard DIR --format F`: every output format, on the ranking
// fixture (tests/app/leaderboard/leaderboard_fixture.h).
#include <doctest/doctest.h>

#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "app/cli/command.h"
#include "core/csv.h"
#include "core/error.h"
#include "tests/app/leaderboard/leaderboard_fixture.h"

using namespace capbench;

namespace {

struct Leaderboard {
  testing::TempDir dir;
  Leaderboard() {
    ResultsStore store(dir / "results.sqlite");
    testing::write_ranking_fixture(store);
  }
  // The command's standard output.
  std::string run(const std::vector<std::string>& flags) const {
    std::vector<std::string> args = {dir.path().string()};
    args.insert(args.end(), flags.begin(), flags.end());
    std::ostringstream out;
    std::streambuf* saved = std::cout.rdbuf(out.rdbuf());
    int status = -1;
    try {
      status = cli::command("leaderboard").run(args);
    } catch (...) {
      std::cout.rdbuf(saved);
      throw;
    }
    std::cout.rdbuf(saved);
    CHECK(status == 0);
    return out.str();
  }
};

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

bool starts_with(const std::string& text, const std::string& prefix) { return text.rfind(prefix, 0) == 0; }

}  // namespace

TEST_CASE("table: aligned columns, '-' for a missing metric, incomplete runs marked, the metric named") {
  Leaderboard board;
  const auto out = lines(board.run({}));
  REQUIRE(out.size() == 8);  // header, 5 runs, blank, "ranked by"
  CHECK(out[0] == "rank  run  settings     cosine  bleu4   exact   images/s  images          ");
  CHECK(out[1] == "   1  r2   num_beams=2  0.7000  0.1000       -      4.00               2/2");
  CHECK(out[2] == "   2  r3   num_beams=3  0.7000       -       -      4.00  1/2 (incomplete)");
  CHECK(out[5] == "   5  r5   num_beams=5       -       -       -      4.00               2/2");
  CHECK(out[7] == "ranked by cosine (higher is better)");
  CHECK(lines(board.run({"--format", "table", "--metric", "bleu4"})).back() == "ranked by bleu4 (higher is better)");
}

TEST_CASE("csv: a header and one record per run, in rank order") {
  Leaderboard board;
  const std::string text = board.run({"--format", "csv"});
  const auto out = lines(text);
  REQUIRE(out.size() == 6);
  CHECK(out[0] == "rank,run,settings,cosine,bleu4,exact,images/s,images");
  CHECK(out[1] == "1,r2,num_beams=2,0.7000,0.1000,-,4.00,2/2");
  CHECK(out[2] == "2,r3,num_beams=3,0.7000,-,-,4.00,1/2 (incomplete)");
  CHECK(out[5] == "5,r5,num_beams=5,-,-,-,4.00,2/2");
}

TEST_CASE("json: one object per run with its settings, metrics and completeness") {
  Leaderboard board;
  const nlohmann::json out = nlohmann::json::parse(board.run({"--format", "json", "--metric", "bleu4"}));
  REQUIRE(out.is_array());
  REQUIRE(out.size() == 5);
  CHECK(out[0]["rank"] == 1);
  CHECK(out[0]["run"] == "r4");
  CHECK(out[0]["metrics"]["bleu4"] == 0.3);
  CHECK(out[0]["metrics"]["exact"] == 1.0);
  CHECK(out[0]["differing"]["generate.num_beams"] == 4);
  CHECK(out[0]["complete"] == true);
  CHECK(out[3]["run"] == "r5");
  CHECK(out[3]["metrics"].empty());
  CHECK(out[4]["run"] == "r3");
  CHECK(out[4]["complete"] == false);
  CHECK(out[4]["images"] == 1);
  CHECK(out[4]["images_total"] == 2);
  CHECK(out[4]["metrics"] == nlohmann::json{{"cosine", 0.7}});
}

TEST_CASE("markdown: a pipe table whose numeric columns are right-aligned") {
  Leaderboard board;
  const auto out = lines(board.run({"--format", "markdown"}));
  REQUIRE(out.size() == 7);  // header, rule, 5 runs; no "ranked by" line
  CHECK(out[0] == "| rank | run | settings    | cosine | bleu4  | exact  | images/s | images           |");
  CHECK(out[1] == "| ---: | --- | ----------- | -----: | -----: | -----: | -------: | ---------------: |");
  CHECK(out[2] == "|    1 | r2  | num_beams=2 | 0.7000 | 0.1000 |      - |     4.00 |              2/2 |");
}

TEST_CASE("an unknown format or metric is a usage error") {
  Leaderboard board;
  CHECK_THROWS_AS(board.run({"--format", "html"}), UsageError);
  CHECK_THROWS_AS(board.run({"--metric", "cider"}), UsageError);
}
