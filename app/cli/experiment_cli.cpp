#include "app/cli/experiment_cli.h"

#include <regex>

#include "core/error.h"
#include "core/settings.h"
#include "metrics/metrics.h"

namespace capbench::cli {

namespace fs = std::filesystem;

Experiment load_cli_experiment(const fs::path& file) {
  ExperimentOptions options;
  options.known_metrics = known_metrics();
  return load_experiment(file, options);
}

Dataset load_experiment_dataset(const Experiment& experiment) {
  Settings table(*experiment.dataset, experiment.dataset_where);
  Dataset dataset = load_dataset(table, experiment.base_dir);
  table.check_all_used();
  return dataset;
}

Scoring make_scoring(const std::vector<std::string>& metrics, std::shared_ptr<SentenceEmbedder> embedder) {
  Scoring scoring;
  scoring.metrics = metrics;
  scoring.compute = [embedder](const std::vector<std::string>& names, const std::vector<std::string>& predictions,
                               const std::vector<std::vector<std::string>>& references) {
    return compute_metrics(names, predictions, references, embedder.get());
  };
  return scoring;
}

std::pair<int64_t, int64_t> parse_shard(const std::string& text) {
  std::smatch m;
  if (!std::regex_match(text, m, std::regex(R"(([0-9]+)/([0-9]+))")))
    throw UsageError("--shard must look like K/N, e.g. 1/4 (got '" + text + "')");
  int64_t k = std::stoll(m[1]), n = std::stoll(m[2]);
  if (n < 1 || k < 1 || k > n) throw UsageError("--shard K/N needs 1 <= K <= N (got '" + text + "')");
  return {k, n};
}

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    if (comma == std::string::npos) comma = text.size();
    if (comma > start) out.push_back(text.substr(start, comma - start));
    start = comma + 1;
  }
  return out;
}

fs::path results_file(const fs::path& dir_or_file) {
  fs::path file = fs::is_directory(dir_or_file) ? dir_or_file / "results.sqlite" : dir_or_file;
  if (!fs::is_regular_file(file))
    throw Error(dir_or_file.string() + ": no results database (run `capbench run EXPERIMENT.toml` first)");
  return file;
}

}  // namespace capbench::cli
