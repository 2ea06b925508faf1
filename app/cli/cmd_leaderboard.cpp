#include <algorithm>
#include <cstdio>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "app/cli/command.h"
#include "app/cli/experiment_cli.h"
#include "app/leaderboard/ranking.h"
#include "app/leaderboard/reference_scores.h"
#include "app/results_store.h"
#include "core/csv.h"
#include "core/error.h"

namespace capbench::cli {

namespace {

std::string number(double v, int digits = 4) {
  char text[32];
  std::snprintf(text, sizeof text, "%.*f", digits, v);
  return text;
}

std::vector<std::string> cells(const RankedRun& row, size_t rank, const std::vector<std::string>& metrics) {
  std::vector<std::string> out = {std::to_string(rank), row.run.id, row.run.label};
  for (const std::string& m : metrics) out.push_back(row.metrics.count(m) ? number(row.metrics.at(m)) : "-");
  out.push_back(number(row.images_per_second, 2));
  out.push_back(std::to_string(row.images_done) + "/" + std::to_string(row.images_total) +
                (row.complete() ? "" : " (incomplete)"));
  return out;
}

// A reference row (not a run): only the cosine column is filled.
std::vector<std::string> reference_cells(const ReferenceScore& row, const std::vector<std::string>& metrics) {
  std::vector<std::string> out = {"ref", "-", "reference: " + row.name};
  for (const std::string& m : metrics) out.push_back(m == "cosine" ? number(row.cosine) : "-");
  out.push_back("-");
  out.push_back(std::to_string(row.images) + "/" + std::to_string(row.images));
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
  const Ranking ranking = rank_runs(store, vm.count("metric") ? vm["metric"].as<std::string>() : "");
  const std::vector<std::string>& metrics = ranking.metrics;
  const std::vector<RankedRun>& rows = ranking.runs;
  const std::string& by = ranking.by;

  std::vector<std::string> header = {"rank", "run", "settings"};
  header.insert(header.end(), metrics.begin(), metrics.end());
  header.push_back("images/s");
  header.push_back("images");

  if (format == "json") {
    nlohmann::json out = nlohmann::json::array();
    for (size_t i = 0; i < rows.size(); ++i) {
      const RankedRun& r = rows[i];
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
  // Table and Markdown only (CSV and JSON list runs): ranked by cosine, each
  // reference row sits above the first run it beats; otherwise they come last.
  std::vector<ReferenceScore> references;
  if (std::find(metrics.begin(), metrics.end(), "cosine") != metrics.end()) references = stored_reference_scores(store);
  std::stable_sort(references.begin(), references.end(),
                   [](const ReferenceScore& a, const ReferenceScore& b) { return a.cosine > b.cosine; });
  std::vector<std::vector<std::string>> table = {header};
  size_t next = 0;
  for (size_t i = 0; i < rows.size(); ++i) {
    const RankedRun& run = rows[i];
    while (by == "cosine" && next < references.size() &&
           (!run.metrics.count("cosine") || run.metrics.at("cosine") < references[next].cosine))
      table.push_back(reference_cells(references[next++], metrics));
    table.push_back(cells(run, i + 1, metrics));
  }
  while (next < references.size()) table.push_back(reference_cells(references[next++], metrics));
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
  if (!references.empty()) {
    std::cout << (format == "markdown" ? "\n" : "") << "ref rows are not runs; the same scorer ("
              << store.meta("scorer_checkpoint").value_or("the experiment's") << ") scored\n";
    for (const ReferenceScore& reference : references)
      std::cout << (format == "markdown" ? "- " : "  ") << reference.name << ": " << reference.description << "\n";
  }
  return 0;
}

}  // namespace capbench::cli
