#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "app/cli/command.h"
#include "app/cli/experiment_cli.h"
#include "app/cli/sweep_outputs.h"
#include "app/results_store.h"
#include "app/runner/components.h"
#include "app/runner/runner.h"
#include "core/error.h"
#include "core/plugin_loader.h"

namespace capbench::cli {

namespace fs = std::filesystem;

namespace {

// `capbench merge EXPERIMENT.toml`: the shards that SLURM array tasks (or an
// interrupted MPI job) left under OUTPUT/shards, into OUTPUT/results.sqlite,
// with the outputs `capbench run` writes.
int merge_experiment_shards(const fs::path& file, const po::variables_map& vm) {
  Experiment experiment = load_cli_experiment(file);
  Dataset dataset = load_experiment_dataset(experiment);
  std::shared_ptr<SentenceEmbedder> embedder;
  if (experiment.output.submission && experiment.scorer.enabled) {
    PluginRegistry registry(PluginRegistry::search_path(plugin_dirs(vm)));
    embedder = make_scorer(registry, experiment.scorer.component);
  }
  // Per-image cosine scores come with the shards; the embedder is only needed for submissions.
  Scoring scoring = make_scoring(experiment.scorer.metrics, embedder);
  return finish_sharded_sweep("merge", experiment, dataset, embedder, experiment.scorer.enabled ? &scoring : nullptr);
}

}  // namespace

int run_merge(const std::vector<std::string>& args) {
  po::options_description options("merge options");
  options.add_options()("dirs", po::value<std::vector<std::string>>()->required(),
                        "output folders to combine, or one experiment file (TOML) whose OUTPUT/shards to combine")(
      "output,o", po::value<std::string>(), "folder of the combined results (with output folders)");
  po::positional_options_description positional;
  positional.add("dirs", -1);
  po::variables_map vm;
  if (!parse(args, command("merge"), options, positional, vm)) return 0;

  const auto& dirs = vm["dirs"].as<std::vector<std::string>>();
  if (dirs.size() == 1 && !vm.count("output") && fs::path(dirs[0]).extension() == ".toml")
    return merge_experiment_shards(dirs[0], vm);
  if (!vm.count("output"))
    throw UsageError("the option '--output' is required when combining output folders");
  fs::path out = vm["output"].as<std::string>();
  fs::create_directories(out);
  ResultsStore store(out / "results.sqlite");
  std::vector<std::string> metrics;
  for (const std::string& dir : dirs) {
    fs::path file = results_file(dir);
    if (fs::equivalent(file, store.file())) throw UsageError(dir + " is the --output folder itself");
    store.merge_from(file);
    ResultsStore source(file);
    auto m = source.meta("metrics");
    auto these = m ? nlohmann::json::parse(*m).get<std::vector<std::string>>() : std::vector<std::string>{};
    if (metrics.empty()) metrics = these;
    if (!these.empty() && these != metrics)
      throw Error(file.string() + ": scored with other metrics than the folders before it; merge results of one experiment");
  }
  store.set_meta("shard", "merged");
  // Whole-set metrics over the union (per-image scores were copied; nothing needs the embedder).
  Scoring scoring = make_scoring(metrics, nullptr);
  finalize_runs(store, metrics.empty() ? nullptr : &scoring);
  std::cerr << "capbench merge: " << store.runs().size() << " runs, " << store.images().size() << " images in "
            << store.file().string() << "\n";
  return 0;
}

}  // namespace capbench::cli
