#pragma once
// Everything the report shows, read from a results database: the runs ranked
// as `capbench leaderboard` ranks them, the spread of their per-image scores,
// every image with each run's captions and scores, the images worth a look
// first, and the numeric settings the sweep varies.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "app/leaderboard/ranking.h"
#include "app/report/score_summary.h"
#include "app/results_store.h"

namespace capbench::report {

struct ReportOptions {
  std::string metric;             // rank and chart by it; empty: as `capbench leaderboard` (cosine, else the first)
  std::vector<std::string> runs;  // only these run ids (shown in ranking order); empty: every run
  int64_t max_images = 0;         // images in the gallery at most; 0: all of them
};

struct RunReport {
  RankedRun ranked;
  std::string label;                              // the settings that differ; "base settings" when none do
  std::map<std::string, std::string> differing;   // dotted key -> value as JSON text
  std::map<std::string, ScoreSummary> summaries;  // metric -> over the run's per-image scores
};

struct RunOnImage {
  std::vector<std::string> captions;  // by rank (0 is the scored one); empty: not captioned yet
  std::optional<double> score;        // the ranking metric on this image; none: not scored yet
};

struct ImageReport {
  StoredImage image;
  std::vector<RunOnImage> runs;        // parallel to ReportModel::runs
  std::optional<double> disagreement;  // best minus worst score over the runs, when two or more are scored
};

// A numeric setting the runs vary (beams, max tokens, temperature, ...): one
// line per combination of the other differing settings.
struct SettingSweep {
  struct Line {
    std::string name;                              // the other settings, "" when there are none
    std::vector<std::pair<double, size_t>> points;  // (setting value, index into ReportModel::runs), by value
  };
  std::string key;  // dotted, e.g. "generate.num_beams"
  std::vector<Line> lines;
};

struct ReportModel {
  std::string experiment;
  std::string metric;                // ranked by; empty when nothing was scored
  std::vector<std::string> metrics;  // every metric scored
  std::vector<RunReport> runs;       // best first
  std::vector<ImageReport> images;   // the gallery, by image id
  size_t images_total = 0;           // images in the database
  std::vector<std::pair<std::string, std::string>> facts;  // the header: what -> value
  std::vector<StoredSkip> skipped;
  std::vector<size_t> most_disagreement, best_of_top, worst_of_top;  // indices into `images`
  std::vector<SettingSweep> sweeps;
  std::pair<double, double> score_range{0, 1};  // 5th and 95th percentile of the gallery's scores (for colours)
};

// Reads `store`. Throws UsageError for a metric nothing was scored with and
// Error for a run id the database does not have.
ReportModel build_report_model(const ResultsStore& store, const ReportOptions& options);

}  // namespace capbench::report
