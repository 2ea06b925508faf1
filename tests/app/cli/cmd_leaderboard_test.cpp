// `capbench leaderboard` end to end on a sweep run through the real plugins:
// every format lists the 4 runs in one order (best cosine first) with the
// metrics the database holds; bad arguments end with one line.
#include <doctest/doctest.h>

#include <set>
#include <sstream>

#include "app/leaderboard/reference_scores.h"
#include "app/results_store.h"
#include "core/csv.h"
#include "tests/app/cli/sweep_fixture.h"

using namespace capbench;
using namespace capbench::testing;

namespace {

// One sweep, run once for every test case of this file.
const SweepFixture& sweep() {
  static const SweepFixture fixture;
  static const bool ran = [] {
    const CliResult r = fixture.run();
    REQUIRE_MESSAGE(r.status == 0, r.err);
    return true;
  }();
  (void)ran;
  return fixture;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::string number(double v, int digits) {
  char text[32];
  std::snprintf(text, sizeof text, "%.*f", digits, v);
  return text;
}

// Run ids best first by `metric`, and each run's metrics, from the database itself.
std::vector<std::string> expected_order(const std::string& metric, std::map<std::string, std::map<std::string, double>>& values) {
  ResultsStore store(sweep().output() / "results.sqlite");
  for (const StoredRunMetric& m : store.run_metrics()) values[m.run][m.metric] = m.value;
  std::vector<std::string> ids;
  for (const StoredRun& run : store.runs()) ids.push_back(run.id);
  std::stable_sort(ids.begin(), ids.end(), [&](const auto& a, const auto& b) { return values[a][metric] > values[b][metric]; });
  return ids;
}

// The rows of a table or Markdown leaderboard, lines [first, end): runs in
// order, and the reference rows (not runs) with the number of runs above each.
struct TableRows {
  std::vector<std::string> runs, references;
  std::vector<size_t> runs_above;
};

TableRows split_rows(const std::vector<std::string>& lines, size_t first, size_t end) {
  TableRows rows;
  for (size_t i = first; i < end; ++i)
    if (lines[i].find("reference: ") != std::string::npos) {
      rows.references.push_back(lines[i]);
      rows.runs_above.push_back(rows.runs.size());
    } else {
      rows.runs.push_back(lines[i]);
    }
  return rows;
}

// The two reference rows (the stored ones, best first) each sit above the first run they beat.
void check_reference_rows(const TableRows& rows, std::map<std::string, std::map<std::string, double>>& values,
                          const std::vector<std::string>& order) {
  std::vector<ReferenceScore> stored = stored_reference_scores(ResultsStore(sweep().output() / "results.sqlite"));
  std::stable_sort(stored.begin(), stored.end(), [](const auto& a, const auto& b) { return a.cosine > b.cosine; });
  REQUIRE(stored.size() == 2);
  REQUIRE(rows.references.size() == 2);
  for (size_t k = 0; k < 2; ++k) {
    CAPTURE(rows.references[k]);
    CHECK(rows.references[k].find("reference: " + stored[k].name) != std::string::npos);
    CHECK(rows.references[k].find(number(stored[k].cosine, 4)) != std::string::npos);
    size_t above = 0;
    while (above < order.size() && values[order[above]]["cosine"] >= stored[k].cosine) ++above;
    CHECK(rows.runs_above[k] == above);
  }
}

}  // namespace

TEST_CASE("leaderboard --format json: every run with its settings and metrics, best cosine first") {
  std::map<std::string, std::map<std::string, double>> values;
  const std::vector<std::string> order = expected_order("cosine", values);
  const CliResult r = capbench_cli({"leaderboard", sweep().output().string(), "--format", "json"});
  CAPTURE(r.err);
  REQUIRE(r.status == 0);
  const nlohmann::json rows = r.json();
  REQUIRE(rows.size() == 4);
  for (size_t i = 0; i < rows.size(); ++i) {
    const nlohmann::json& row = rows[i];
    CHECK(keys_of(row) == std::set<std::string>{"rank", "run", "label", "variant", "differing", "settings", "metrics",
                                        "images_per_second", "images", "images_total", "complete"});
    CHECK(row["rank"] == i + 1);
    CHECK(row["run"] == order[i]);
    CHECK(row["images"] == 2);
    CHECK(row["images_total"] == 2);
    CHECK(row["complete"] == true);
    CHECK(row["images_per_second"].get<double>() > 0);
    CHECK(row["differing"].size() == 2);
    CHECK(row["differing"].contains("generate.num_beams"));
    CHECK(row["settings"]["generate"]["max_new_tokens"] == 12);
    std::set<std::string> metrics;
    for (const auto& [metric, value] : row["metrics"].items()) {
      metrics.insert(metric);
      CHECK(value.get<double>() == values[order[i]][metric]);
    }
    CHECK(metrics == std::set<std::string>{"cosine", "bleu4", "cider"});
  }
}

TEST_CASE("leaderboard --format csv and table: the same rows, columns in the experiment's metric order") {
  std::map<std::string, std::map<std::string, double>> values;
  const std::vector<std::string> order = expected_order("cosine", values);
  const CliResult csv = capbench_cli({"leaderboard", sweep().output().string(), "--format", "csv"});
  REQUIRE(csv.status == 0);
  TempDir dir;
  write_text(dir / "board.csv", csv.out);
  const std::vector<CsvRecord> records = read_csv_file(dir / "board.csv");
  REQUIRE(records.size() == 5);
  CHECK(records[0].fields ==
        std::vector<std::string>{"rank", "run", "settings", "cosine", "bleu4", "cider", "images/s", "images"});
  for (size_t i = 1; i < records.size(); ++i) {
    const auto& f = records[i].fields;
    REQUIRE(f.size() == 8);
    CHECK(f[0] == std::to_string(i));
    CHECK(f[1] == order[i - 1]);
    CHECK(f[3] == number(values[order[i - 1]]["cosine"], 4));
    CHECK(f[4] == number(values[order[i - 1]]["bleu4"], 4));
    CHECK(f[5] == number(values[order[i - 1]]["cider"], 4));
    CHECK(f[7] == "2/2");
  }

  const CliResult table = capbench_cli({"leaderboard", sweep().output().string()});
  REQUIRE(table.status == 0);
  const std::vector<std::string> lines = lines_of(table.out);
  // header, 4 runs and 2 reference rows, blank, "ranked by", the reference rows' footer (3 lines)
  REQUIRE(lines.size() == 12);
  CHECK(lines[0].rfind("rank  run", 0) == 0);
  const TableRows rows = split_rows(lines, 1, 7);
  REQUIRE(rows.runs.size() == 4);
  for (size_t i = 0; i < 4; ++i) {
    CHECK(rows.runs[i].find(order[i]) != std::string::npos);
    CHECK(rows.runs[i].find(number(values[order[i]]["cosine"], 4)) != std::string::npos);
    CHECK(rows.runs[i].substr(rows.runs[i].size() - 3) == "2/2");
  }
  check_reference_rows(rows, values, order);
  CHECK(lines[7].empty());
  CHECK(lines[8] == "ranked by cosine (higher is better)");
  CHECK(lines[9].rfind("ref rows are not runs; the same scorer (", 0) == 0);
  CHECK(lines[10].rfind("  ground truth: ", 0) == 0);
  CHECK(lines[11].rfind("  \"a photo\": ", 0) == 0);
}

TEST_CASE("leaderboard --format markdown: a header, a rule with numeric columns right-aligned, one row per run") {
  std::map<std::string, std::map<std::string, double>> values;
  const std::vector<std::string> order = expected_order("cosine", values);
  const CliResult r = capbench_cli({"leaderboard", sweep().output().string(), "--format", "markdown"});
  REQUIRE(r.status == 0);
  const std::vector<std::string> lines = lines_of(r.out);
  // header, rule, 4 runs and 2 reference rows, blank, the reference rows' footer (3 lines)
  REQUIRE(lines.size() == 12);
  CHECK(lines[0].rfind("| rank | run ", 0) == 0);
  CHECK(lines[1].rfind("| ---: | --", 0) == 0);
  for (size_t i = 2; i < 8; ++i) {
    CHECK(lines[i].front() == '|');
    CHECK(lines[i].back() == '|');
    CHECK(std::count(lines[i].begin(), lines[i].end(), '|') == 9);
  }
  const TableRows rows = split_rows(lines, 2, 8);
  REQUIRE(rows.runs.size() == 4);
  for (size_t i = 0; i < 4; ++i) CHECK(rows.runs[i].find(" " + order[i] + " ") != std::string::npos);
  check_reference_rows(rows, values, order);
  CHECK(lines[8].empty());
  CHECK(lines[9].rfind("ref rows are not runs; the same scorer (", 0) == 0);
  CHECK(lines[10].rfind("- ground truth: ", 0) == 0);
  CHECK(lines[11].rfind("- \"a photo\": ", 0) == 0);
}

TEST_CASE("leaderboard --metric ranks by another metric") {
  std::map<std::string, std::map<std::string, double>> values;
  const std::vector<std::string> order = expected_order("bleu4", values);
  const CliResult r = capbench_cli({"leaderboard", sweep().output().string(), "--format", "json", "--metric", "bleu4"});
  REQUIRE(r.status == 0);
  const nlohmann::json rows = r.json();
  REQUIRE(rows.size() == 4);
  for (size_t i = 0; i < 4; ++i) CHECK(rows[i]["run"] == order[i]);
}

TEST_CASE("leaderboard: bad arguments end with one line") {
  check_usage_error(capbench_cli({"leaderboard", sweep().output().string(), "--format", "xml"}), "leaderboard",
                    "--format must be table, csv, json or markdown (got 'xml')");
  check_usage_error(capbench_cli({"leaderboard", sweep().output().string(), "--metric", "meteor"}), "leaderboard",
                    "--metric meteor: the runs were not scored with it");
  TempDir empty;
  check_one_line_error(capbench_cli({"leaderboard", empty.path().string()}),
                       empty.path().string() + ": no results database");
}
