#pragma once
// The order of a sweep's runs, as `leaderboard`, `submit` and the report show
// it: best first by one metric (higher is better), runs without that metric
// last, complete runs before incomplete ones on equal values, and otherwise the
// experiment's order.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "app/results_store.h"

namespace capbench {

struct RankedRun {
  StoredRun run;
  std::map<std::string, double> metrics;  // run-level values; per-image means so far when incomplete
  int64_t images_done = 0;                // images with a caption (rank 0)
  int64_t images_total = 0;               // images in the database
  int64_t images_scored = 0;              // images with a per-image score of the ranking metric
  double images_per_second = 0;           // over the compute time stored with the captions
  bool complete() const { return images_total > 0 && images_done == images_total; }
};

struct Ranking {
  std::vector<std::string> metrics;  // every metric, in the experiment's order, then any other found
  std::string by;                    // the metric ranked by; empty when nothing was scored
  std::vector<RankedRun> runs;       // best first
};

// Ranks the runs of `store` by `metric`; empty `metric` means "cosine" when
// scored, else the first metric. Throws UsageError when `metric` was not scored.
Ranking rank_runs(const ResultsStore& store, const std::string& metric = "");

// The best complete run by `metric`, or empty when no complete run has it.
std::string best_complete_run(const ResultsStore& store, const std::string& metric);

}  // namespace capbench
