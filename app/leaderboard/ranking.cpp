#include "app/leaderboard/ranking.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>

#include "core/error.h"

namespace capbench {

namespace {

RankedRun read_run(const ResultsStore& store, const StoredRun& run, int64_t images_total) {
  RankedRun row;
  row.run = run;
  row.images_total = images_total;
  double seconds = 0;
  for (const StoredPrediction& p : store.predictions(run.id))
    if (p.rank == 0) {
      ++row.images_done;
      seconds += p.seconds;
    }
  row.images_per_second = seconds > 0 ? row.images_done / seconds : 0;
  for (const StoredRunMetric& m : store.run_metrics(run.id)) row.metrics[m.metric] = m.value;
  if (row.metrics.empty()) {  // not finalized yet: the mean of what is scored so far
    std::map<std::string, std::pair<double, int64_t>> sums;
    for (const StoredScore& s : store.scores(run.id)) {
      sums[s.metric].first += s.value;
      sums[s.metric].second += 1;
    }
    for (const auto& [metric, sum] : sums) row.metrics[metric] = sum.first / static_cast<double>(sum.second);
  }
  return row;
}

std::string default_metric(const std::vector<std::string>& metrics) {
  if (std::find(metrics.begin(), metrics.end(), "cosine") != metrics.end()) return "cosine";
  return metrics.empty() ? "" : metrics.front();
}

}  // namespace

Ranking rank_runs(const ResultsStore& store, const std::string& metric) {
  Ranking ranking;
  if (auto stored = store.meta("metrics")) ranking.metrics = nlohmann::json::parse(*stored).get<std::vector<std::string>>();
  std::set<std::string> known(ranking.metrics.begin(), ranking.metrics.end());
  const auto images_total = static_cast<int64_t>(store.images().size());
  for (const StoredRun& run : store.runs()) {
    ranking.runs.push_back(read_run(store, run, images_total));
    for (const auto& [name, value] : ranking.runs.back().metrics)
      if (known.insert(name).second) ranking.metrics.push_back(name);
  }
  ranking.by = metric.empty() ? default_metric(ranking.metrics) : metric;
  if (!ranking.by.empty() && !known.count(ranking.by))
    throw UsageError("--metric " + ranking.by + ": the runs were not scored with it (scored: " +
                     (ranking.metrics.empty() ? std::string("nothing") : nlohmann::json(ranking.metrics).dump()) + ")");
  const std::string& by = ranking.by;
  for (RankedRun& row : ranking.runs)
    for (const StoredScore& s : store.scores(row.run.id)) row.images_scored += s.metric == by;
  std::stable_sort(ranking.runs.begin(), ranking.runs.end(), [&](const RankedRun& a, const RankedRun& b) {
    const bool has_a = a.metrics.count(by), has_b = b.metrics.count(by);
    if (has_a != has_b) return has_a;
    if (has_a && a.metrics.at(by) != b.metrics.at(by)) return a.metrics.at(by) > b.metrics.at(by);
    return a.complete() && !b.complete();
  });
  return ranking;
}

std::string best_complete_run(const ResultsStore& store, const std::string& metric) {
  Ranking ranking;
  try {
    ranking = rank_runs(store, metric);
  } catch (const UsageError&) {
    return "";  // nothing was scored with `metric`
  }
  for (const RankedRun& row : ranking.runs)
    if (row.complete() && row.metrics.count(metric)) return row.run.id;
  return "";
}

}  // namespace capbench
