#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "app/cli/command.h"
#include "app/cli/experiment_cli.h"
#include "app/results_store.h"
#include "app/runner/runner.h"
#include "core/error.h"

namespace capbench::cli {

namespace fs = std::filesystem;

int run_merge(const std::vector<std::string>& args) {
  po::options_description options("merge options");
  options.add_options()("dirs", po::value<std::vector<std::string>>()->required(), "output folders to combine")(
      "output,o", po::value<std::string>()->required(), "folder of the combined results");
  po::positional_options_description positional;
  positional.add("dirs", -1);
  po::variables_map vm;
  if (!parse(args, command("merge"), options, positional, vm)) return 0;

  fs::path out = vm["output"].as<std::string>();
  fs::create_directories(out);
  ResultsStore store(out / "results.sqlite");
  std::vector<std::string> metrics;
  for (const std::string& dir : vm["dirs"].as<std::vector<std::string>>()) {
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
