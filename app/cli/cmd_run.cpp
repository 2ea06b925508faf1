#include <atomic>
#include <csignal>
#include <ctime>
#include <filesystem>
#include <fmt/chrono.h>
#include <iostream>
#include <tuple>

#include "app/cli/command.h"
#include "app/cli/experiment_cli.h"
#include "app/cli/submission_files.h"
#include "app/leaderboard/reference_scores.h"
#include "app/progress.h"
#include "app/results_store.h"
#include "app/runner/components.h"
#include "app/runner/output_lock.h"
#include "app/runner/runner.h"
#include "app/version.h"
#include "core/error.h"
#include "core/log.h"
#include "core/plugin_loader.h"

namespace capbench::cli {

namespace fs = std::filesystem;

namespace {

std::atomic<bool> stop_requested{false};
std::atomic<int> stop_signal{0};

// The first Ctrl-C or SIGTERM asks the runner to finish its batch and save; a
// second one (default action restored) ends the process at once.
void on_stop_signal(int signal) {
  stop_signal.store(signal);
  stop_requested.store(true);
  std::signal(signal, SIG_DFL);
}

// Installs on_stop_signal for SIGINT and SIGTERM while it lives.
class StopSignals {
 public:
  StopSignals() : interrupt_(std::signal(SIGINT, on_stop_signal)), terminate_(std::signal(SIGTERM, on_stop_signal)) {}
  ~StopSignals() {
    std::signal(SIGINT, interrupt_);
    std::signal(SIGTERM, terminate_);
  }
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;

 private:
  void (*interrupt_)(int);
  void (*terminate_)(int);
};

void create_output_folder(const fs::path& dir) {
  std::error_code error;
  fs::create_directories(dir, error);
  if (error) throw Error(dir.string() + ": cannot create the output folder (" + error.message() + ")");
  if (!fs::is_directory(dir)) throw Error(dir.string() + ": the output folder is not a folder");
}

}  // namespace

int run_run(const std::vector<std::string>& args) {
  po::options_description options("run options");
  options.add_options()("experiment", po::value<std::string>()->required(), "experiment file (TOML)")(
      "runs", po::value<std::string>(), "only these run ids (comma-separated; see capbench plan)")(
      "batch-size", po::value<int64_t>()->default_value(8), "images per batch (and per saved transaction)")(
      "shard", po::value<std::string>()->default_value("1/1"),
      "take a deterministic 1/N of the images: K/N (combine shards with capbench merge)");
  po::positional_options_description positional;
  positional.add("experiment", 1);
  po::variables_map vm;
  if (!parse(args, command("run"), options, positional, vm)) return 0;

  // Past a file size limit a write then fails (EFBIG) and the run ends with an
  // error, its database whole, instead of being killed by SIGXFSZ.
  std::signal(SIGXFSZ, SIG_IGN);
  Experiment experiment = load_cli_experiment(vm["experiment"].as<std::string>());
  RunnerOptions runner;
  if (vm.count("runs")) runner.run_ids = split_list(vm["runs"].as<std::string>());
  runner.batch_size = vm["batch-size"].as<int64_t>();
  std::tie(runner.shard_index, runner.shard_count) = parse_shard(vm["shard"].as<std::string>());
  Dataset dataset = load_experiment_dataset(experiment);
  if (!dataset.skipped.empty())
    log::warn("{} dataset items skipped (listed in the results database, table skipped)", dataset.skipped.size());
  create_output_folder(experiment.output.dir);
  const OutputLock lock(experiment.output.dir, runner.shard_index, runner.shard_count);

  PluginRegistry registry(PluginRegistry::search_path(plugin_dirs(vm)));
  std::shared_ptr<SentenceEmbedder> embedder;
  if (experiment.scorer.needs_embedder() || (experiment.output.submission && experiment.scorer.enabled))
    embedder = make_scorer(registry, experiment.scorer.component);
  Scoring scoring = make_scoring(experiment.scorer.metrics, embedder);
  PluginComponents components(registry);

  ResultsStore store(experiment.output.dir / "results.sqlite");
  // For the report's header: who wrote the results, when, and what "auto" meant here.
  store.set_meta("capbench_version", version());
  store.set_meta("run_date", fmt::format("{:%Y-%m-%d %H:%M} UTC", fmt::gmtime(std::time(nullptr))));
  store.set_meta("auto_device", resolve_device("auto"));
  if (experiment.scorer.enabled) store.set_meta("scorer_checkpoint", fs::absolute(experiment.scorer.component.checkpoint).string());

  std::vector<const RunSpec*> selected = select_runs(experiment, runner.run_ids);
  auto items = select_shard(dataset.items, runner.shard_index, runner.shard_count);
  const int64_t todo = pending_work(selected, items, store, dataset.skip_errors);
  const auto left_out = static_cast<int64_t>(images_left_out(store, items, dataset.skip_errors).size());
  const auto runs = static_cast<int64_t>(selected.size()), images = static_cast<int64_t>(items.size());
  std::cerr << "capbench run: " << experiment.name << ": " << runs << " runs x " << images << " images, " << todo
            << " captions to make (" << (images - left_out) * runs - todo << " already saved";
  if (left_out > 0) std::cerr << "; " << left_out << " image" << (left_out == 1 ? "" : "s") << " skipped by an earlier run";
  std::cerr << ")\n";
  Progress progress(std::cerr, todo, static_cast<int64_t>(selected.size()), Progress::stderr_is_terminal());
  runner.progress = &progress;
  stop_requested.store(false);
  stop_signal.store(0);
  runner.stop = &stop_requested;
  RunnerReport report;
  {
    const StopSignals signals;
    report = run_sweep(experiment, dataset, components, experiment.scorer.enabled ? &scoring : nullptr, store, runner);
  }

  if (report.interrupted || stop_requested.load()) {
    const int signal = stop_signal.load();
    std::cerr << "capbench run: " << (signal == SIGTERM ? "terminated" : "interrupted") << "; "
              << report.predictions_made << " captions saved. Run the same command again to continue.\n";
    return 128 + (signal ? signal : SIGINT);  // 130 for Ctrl-C, 143 for SIGTERM, as the shell reports them
  }
  std::cerr << "capbench run: " << report.runs_complete << "/" << report.runs_total << " runs complete, "
            << report.predictions_made << " captions made in " << report.seconds << " s";
  if (report.images_skipped > 0)
    std::cerr << "; " << report.images_skipped << " image" << (report.images_skipped == 1 ? "" : "s")
              << " skipped (cannot be read; listed in the table skipped)";
  std::cerr << "; results in " << store.file().string() << "\n";
  // The leaderboard's reference rows: where the ground truth and "a photo" land with this scorer.
  if (experiment.scorer.enabled && experiment.scorer.needs_embedder())
    update_reference_scores(store, *embedder, fs::absolute(experiment.scorer.component.checkpoint).string());
  if (experiment.output.submission) {
    if (!embedder) throw Error(experiment.file.string() + ": output.submission needs a [scorer] with a checkpoint");
    for (const fs::path& written : write_run_submissions(store, *embedder, experiment.output.dir))
      std::cerr << "capbench run: wrote " << written.string() << "\n";
  }
  std::cout << "see the results: capbench leaderboard " << experiment.output.dir.string() << "\n";
  return 0;
}

}  // namespace capbench::cli
