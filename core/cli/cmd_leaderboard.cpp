#include <algorithm>
#include <cstdio>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "core/cli/command.h"
#include "core/cli/experiment_cli.h"
#include "core/csv.h"
#include "core/error.h"
#include "core/results_store.h"

namespace capbench::cli {

namespace {

struct Row {
  StoredRun run;
  std::map<std::string, double> metrics;  // run-level values (partial means when incomplete)
  int64_t images_done = 0, images_total = 0;
  double images_per_second = 0;
  bool complete() const { return images_done == images_total && images_total > 0; }
};

std::string number(double v, int digits = 4) {
  char text[32];
  std::snprintf(text, sizeof text, "%.*f", digits, v);
  return text;
}

std::vector<Row> read_rows(const ResultsStore& store, std::vector<std::string>& metric_names) {
  std::vector<StoredImage> images = store.images();
  std::vector<Row> rows;
  std::set<std::string> names(metric_names.begin(), metric_names.end());
  for (const StoredRun& run : store.runs()) {
    Row row{run, {}, 0, static_cast<int64_t>(images.size()), 0};
    double seconds = 0;
    for (const StoredPrediction& p : store.predictions(run.id))
      if (p.rank == 0) {
        ++row.images_done;
        seconds += p.seconds;
      }
    row.images_per_second = seconds > 0 ? row.images_done / seconds : 0;
    for (const StoredRunMetric& m : store.run_metrics(run.id)) row.metrics[m.metric] = m.value;
    if (row.metrics.empty()) {  // incomplete: the mean of what is scored so far
      std::map<std::string, std::pair<double, int>> sums;
      for (const StoredScore& s : store.scores(run.id)) {
        sums[s.metric].first += s.value;
        sums[s.metric].second += 1;
      }
      for (const auto& [metric, sum] : sums) row.metrics[metric] = sum.first / sum.second;
    }
    for (const auto& [metric, value] : row.metrics)
      if (names.insert(metric).second) metric_names.push_back(metric);
    rows.push_back(row);
  }
  return rows;
}

std::vector<std::string> cells(const Row& row, size_t rank, const std::vector<std::string>& metrics) {
  std::vector<std::string> out = {std::to_string(rank), row.run.id, row.run.label};
  for (const std::string& m : metrics) out.push_back(row.metrics.count(m) ? number(row.metrics.at(m)) : "-");
  out.push_back(number(row.images_per_second, 2));
  out.push_back(std::to_string(row.images_done) + "/" + std::to_string(row.images_total) +
                (row.complete() ? "" : " (incomplete)"));
  return out;
}

}  // namespace

int run_leaderboard(const std::vector<std::string>& args) {
  po::options_description options("leaderboard options");
  options.add_options()("dir", po::value<std::string>()->required(), "output folder of capbench run (or its results.sqlite)")(
      "format", po::value<std::string>()->default_value("table"), "table, csv, json or markdown")(
      "metric", po::value<std::string>(), "metric to rank by (default: cosine, else the first one scored)");
  po::positional_options_description positional;
  positional.add("dir", 1);
  po::variables_map vm;
  if (!parse(args, command("leaderboard"), options, positional, vm)) return 0;
  std::string format = vm["format"].as<std::string>();
  if (format != "table" && format != "csv" && format != "json" && format != "markdown")
    throw UsageError("--format must be table, csv, json or markdown (got '" + format + "')");

  ResultsStore store(results_file(vm["dir"].as<std::string>()));
  std::vector<std::string> metrics;
  if (auto m = store.meta("metrics")) metrics = nlohmann::json::parse(*m).get<std::vector<std::string>>();
  std::vector<Row> rows = read_rows(store, metrics);

  std::string by = vm.count("metric") ? vm["metric"].as<std::string>()
                   : std::find(metrics.begin(), metrics.end(), "cosine") != metrics.end() ? "cosine"
                   : metrics.empty()                                                      ? ""
                                                                                          : metrics.front();
  if (!by.empty() && std::find(metrics.begin(), metrics.end(), by) == metrics.end())
    throw UsageError("--metric " + by + ": the runs were not scored with it (scored: " +
                     (metrics.empty() ? std::string("nothing") : nlohmann::json(metrics).dump()) + ")");
  // Best first; runs without the metric last; complete runs before incomplete ones on ties.
  std::stable_sort(rows.begin(), rows.end(), [&](const Row& a, const Row& b) {
    bool ha = a.metrics.count(by), hb = b.metrics.count(by);
    if (ha != hb) return ha;
    if (ha && a.metrics.at(by) != b.metrics.at(by)) return a.metrics.at(by) > b.metrics.at(by);
    return a.complete() && !b.complete();
  });

  std::vector<std::string> header = {"rank", "run", "settings"};
  header.insert(header.end(), metrics.begin(), metrics.end());
  header.push_back("images/s");
  header.push_back("images");

  if (format == "json") {
    nlohmann::json out = nlohmann::json::array();
    for (size_t i = 0; i < rows.size(); ++i) {
      const Row& r = rows[i];
      nlohmann::json metrics_json = nlohmann::json::object();
      for (const auto& [m, v] : r.metrics) metrics_json[m] = v;
      out.push_back({{"rank", i + 1},
                     {"run", r.run.id},
                     {"label", r.run.label},
                     {"variant", r.run.variant},
                     {"differing", nlohmann::json::parse(r.run.differing_json)},
                     {"settings", nlohmann::json::parse(r.run.settings_json)},
                     {"metrics", metrics_json},
                     {"images_per_second", r.images_per_second},
                     {"images", r.images_done},
                     {"images_total", r.images_total},
                     {"complete", r.complete()}});
    }
    std::cout << out.dump(2) << "\n";
    return 0;
  }
  if (format == "csv") {
    write_csv_record(std::cout, header);
    for (size_t i = 0; i < rows.size(); ++i) write_csv_record(std::cout, cells(rows[i], i + 1, metrics));
    return 0;
  }
  std::vector<std::vector<std::string>> table = {header};
  for (size_t i = 0; i < rows.size(); ++i) table.push_back(cells(rows[i], i + 1, metrics));
  std::vector<size_t> width(header.size(), 0);
  for (const auto& line : table)
    for (size_t c = 0; c < line.size(); ++c) width[c] = std::max(width[c], line[c].size());
  auto numeric = [&](size_t c) { return c == 0 || c >= 3; };
  for (size_t l = 0; l < table.size(); ++l) {
    std::string text = format == "markdown" ? "|" : "";
    for (size_t c = 0; c < table[l].size(); ++c) {
      const std::string& cell = table[l][c];
      std::string pad(width[c] - cell.size(), ' ');
      std::string aligned = numeric(c) && l > 0 ? pad + cell : cell + pad;
      text += format == "markdown" ? " " + aligned + " |" : (c ? "  " : "") + aligned;
    }
    std::cout << text << "\n";
    if (l == 0 && format == "markdown") {
      std::string rule = "|";
      for (size_t c = 0; c < width.size(); ++c) rule += (numeric(c) ? " " + std::string(width[c] - 1, '-') + ":" : " " + std::string(width[c], '-')) + " |";
      std::cout << rule << "\n";
    }
  }
  if (format == "table" && !by.empty()) std::cout << "\nranked by " << by << " (higher is better)\n";
  return 0;
}

}  // namespace capbench::cli
