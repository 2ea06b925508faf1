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
#include "app/runner/runner.h"
#include "app/version.h"
#include "core/error.h"
#include "core/log.h"
#include "core/plugin_loader.h"

namespace capbench::cli {

namespace fs = std::filesystem;

namespace {

std::atomic<bool> stop_requested{false};

// The first Ctrl-C asks the runner to finish its batch and save; a second one
// (default action restored) ends the process at once.
void on_interrupt(int) {
  stop_requested.store(true);
  std::signal(SIGINT, SIG_DFL);
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

  Experiment experiment = load_cli_experiment(vm["experiment"].as<std::string>());
  RunnerOptions runner;
  if (vm.count("runs")) runner.run_ids = split_list(vm["runs"].as<std::string>());
  runner.batch_size = vm["batch-size"].as<int64_t>();
  std::tie(runner.shard_index, runner.shard_count) = parse_shard(vm["shard"].as<std::string>());
  Dataset dataset = load_experiment_dataset(experiment);
  if (!dataset.skipped.empty())
    log::warn("{} dataset items skipped (listed in the results database, table skipped)", dataset.skipped.size());

  PluginRegistry registry(PluginRegistry::search_path(plugin_dirs(vm)));
  std::shared_ptr<SentenceEmbedder> embedder;
  if (experiment.scorer.needs_embedder() || (experiment.output.submission && experiment.scorer.enabled))
    embedder = make_scorer(registry, experiment.scorer.component);
  Scoring scoring = make_scoring(experiment.scorer.metrics, embedder);
  PluginComponents components(registry);

  fs::create_directories(experiment.output.dir);
  ResultsStore store(experiment.output.dir / "results.sqlite");
  // For the report's header: who wrote the results, when, and what "auto" meant here.
  store.set_meta("capbench_version", version());
  store.set_meta("run_date", fmt::format("{:%Y-%m-%d %H:%M} UTC", fmt::gmtime(std::time(nullptr))));
  store.set_meta("auto_device", resolve_device("auto"));
  if (experiment.scorer.enabled) store.set_meta("scorer_checkpoint", fs::absolute(experiment.scorer.component.checkpoint).string());

  std::vector<const RunSpec*> selected = select_runs(experiment, runner.run_ids);
  auto items = select_shard(dataset.items, runner.shard_index, runner.shard_count);
  int64_t todo = pending_work(selected, items, store);
  std::cerr << "capbench run: " << experiment.name << ": " << selected.size() << " runs x " << items.size()
            << " images, " << todo << " captions to make (" << items.size() * selected.size() - todo
            << " already saved)\n";
  Progress progress(std::cerr, todo, static_cast<int64_t>(selected.size()), Progress::stderr_is_terminal());
  runner.progress = &progress;
  stop_requested.store(false);
  runner.stop = &stop_requested;
  auto previous = std::signal(SIGINT, on_interrupt);
  RunnerReport report;
  try {
    report = run_sweep(experiment, dataset, components, experiment.scorer.enabled ? &scoring : nullptr, store, runner);
  } catch (...) {
    std::signal(SIGINT, previous);
    throw;
  }
  std::signal(SIGINT, previous);

  if (report.interrupted) {
    std::cerr << "capbench run: interrupted; " << report.predictions_made
              << " captions saved. Run the same command again to continue.\n";
    return 130;
  }
  std::cerr << "capbench run: " << report.runs_complete << "/" << report.runs_total << " runs complete, "
            << report.predictions_made << " captions made in " << report.seconds << " s; results in "
            << store.file().string() << "\n";
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
