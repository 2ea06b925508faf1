#include <algorithm>
#include <filesystem>
#include <iostream>
#include <map>

#include "app/cli/command.h"
#include "app/cli/experiment_cli.h"
#include "app/results_store.h"

namespace capbench::cli {

namespace fs = std::filesystem;

int run_plan(const std::vector<std::string>& args) {
  po::options_description options("plan options");
  options.add_options()("experiment", po::value<std::string>()->required(), "experiment file (TOML)")(
      "runs", po::value<std::string>(), "only these run ids (comma-separated)")(
      "shard", po::value<std::string>()->default_value("1/1"), "this process's share of the images: K/N");
  po::positional_options_description positional;
  positional.add("experiment", 1);
  po::variables_map vm;
  if (!parse(args, command("plan"), options, positional, vm)) return 0;

  Experiment experiment = load_cli_experiment(vm["experiment"].as<std::string>());
  auto [shard, shards] = parse_shard(vm["shard"].as<std::string>());
  std::vector<const RunSpec*> runs =
      select_runs(experiment, vm.count("runs") ? split_list(vm["runs"].as<std::string>()) : std::vector<std::string>{});
  Dataset dataset = load_experiment_dataset(experiment);
  std::vector<DatasetItem> items = select_shard(dataset.items, shard, shards);

  // What is already in the output folder, when there is one.
  fs::path db = experiment.output.dir / "results.sqlite";
  std::unique_ptr<ResultsStore> store;
  if (fs::is_regular_file(db)) store = std::make_unique<ResultsStore>(db);

  std::cout << "experiment  " << experiment.name << " (" << experiment.file.string() << ")\n"
            << "images      " << items.size();
  if (shards > 1) std::cout << " (shard " << shard << "/" << shards << " of " << dataset.items.size() << ")";
  if (!dataset.skipped.empty()) std::cout << ", " << dataset.skipped.size() << " skipped";
  std::cout << "\nruns        " << runs.size() << "\n"
            << "work        " << items.size() * runs.size() << " captions (images x runs)";
  if (store) std::cout << ", " << pending_work(runs, items, *store, dataset.skip_errors) << " still to do";
  std::cout << "\noutput      " << experiment.output.dir.string() << "\n";
  if (experiment.scorer.enabled) {
    std::cout << "scorer      " << experiment.scorer.component.plugin << " ";
    for (size_t i = 0; i < experiment.scorer.metrics.size(); ++i)
      std::cout << (i ? "," : "") << experiment.scorer.metrics[i];
    std::cout << "\n";
  }
  std::cout << "\n";

  size_t label_width = 8;
  for (const RunSpec* r : runs) label_width = std::max(label_width, r->label.size());
  std::cout << "run           " << "settings" << std::string(label_width - 8 + 2, ' ') << "decoder  done\n";
  for (const RunSpec* r : runs) {
    int64_t done = 0;
    if (store) {
      auto stored = store->images_done(r->id);
      for (const DatasetItem& item : items) done += stored.count(item.id) ? 1 : 0;
    }
    std::cout << r->id << "  " << r->label << std::string(label_width - r->label.size() + 2, ' ') << r->decoder.plugin
              << std::string(r->decoder.plugin.size() < 7 ? 7 - r->decoder.plugin.size() : 1, ' ') << "  " << done
              << "/" << items.size() << "\n";
  }

  if (!runs.empty() && !runs.front()->differing.empty()) {
    std::cout << "\nsettings that differ between runs:";
    for (const auto& [key, value] : runs.front()->differing) std::cout << " " << key;
    std::cout << "\n";
  }

  // Runs that share the encoder + bridge output: each image goes through it once per group.
  std::vector<std::vector<const RunSpec*>> groups = group_by_image_side(runs);
  std::cout << "\nimage features: " << groups.size() << " encoder+bridge pass" << (groups.size() == 1 ? "" : "es")
            << " over the images (" << groups.size() * items.size() << " image encodings for "
            << items.size() * runs.size() << " captions)\n";
  for (size_t g = 0; g < groups.size(); ++g) {
    const RunSpec& first = *groups[g].front();
    std::cout << "  " << (g + 1) << ". " << first.encoder.plugin << " + " << first.bridge.plugin << " from "
              << first.encoder.checkpoint.string() << " (" << first.encoder.device << ", " << first.encoder.dtype
              << "): runs";
    for (const RunSpec* r : groups[g]) std::cout << " " << r->id;
    std::cout << "\n";
  }
  return 0;
}

}  // namespace capbench::cli
