#pragma once
// What the experiment commands (run, plan, leaderboard, merge, submit) share:
// loading an experiment and its dataset, the scoring function, shard flags and
// where a results database lives.
#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "app/experiment/experiment.h"
#include "app/runner/runner.h"
#include "core/plugin_api.h"
#include "datasets/dataset.h"

namespace capbench::cli {

// The experiment, with the scorer's metric names checked against metrics/.
Experiment load_cli_experiment(const std::filesystem::path& file);

// The experiment's dataset (every [dataset] key must be one the reader knows).
Dataset load_experiment_dataset(const Experiment& experiment);

// Scoring through metrics/compute_metrics; `embedder` may be null when no
// metric needs it (or every embedding-based score is already stored).
Scoring make_scoring(const std::vector<std::string>& metrics, std::shared_ptr<SentenceEmbedder> embedder);

// "K/N" -> {K, N}; throws UsageError.
std::pair<int64_t, int64_t> parse_shard(const std::string& text);

// "a,b,c" -> {"a","b","c"} (empty parts dropped).
std::vector<std::string> split_list(const std::string& text);

// DIR/results.sqlite for an output folder (or the file itself when given one);
// throws Error when it does not exist.
std::filesystem::path results_file(const std::filesystem::path& dir_or_file);

}  // namespace capbench::cli
