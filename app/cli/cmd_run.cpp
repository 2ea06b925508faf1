#include <atomic>
#include <csignal>
#include <ctime>
#include <filesystem>
#include <fmt/chrono.h>
#include <iostream>
#include <tuple>

#include "app/cli/command.h"
#include "app/cli/experiment_cli.h"
#include "app/cli/sweep_outputs.h"
#include "app/distributed/launcher.h"
#include "app/distributed/mpi_world.h"
#include "app/distributed/rank_job.h"
#include "app/distributed/rank_resources.h"
#include "app/distributed/shards.h"
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

// Everything `capbench run` loads before it captions.
struct Sweep {
  Experiment experiment;
  Dataset dataset;
  RunnerOptions runner;
  std::unique_ptr<PluginRegistry> registry;
  std::shared_ptr<SentenceEmbedder> embedder;
  Scoring scoring;
  std::unique_ptr<PluginComponents> components;
  const Scoring* scoring_or_null() const { return experiment.scorer.enabled ? &scoring : nullptr; }
};

// The experiment and the runner's options (the shard is the caller's).
Sweep load_experiment_options(const po::variables_map& vm) {
  Sweep sweep{load_cli_experiment(vm["experiment"].as<std::string>()), {}, {}, nullptr, nullptr, {}, nullptr};
  if (vm.count("runs")) sweep.runner.run_ids = split_list(vm["runs"].as<std::string>());
  sweep.runner.batch_size = vm["batch-size"].as<int64_t>();
  return sweep;
}

// The dataset, the plugins and the scorer.
void load_components(Sweep& sweep, const po::variables_map& vm, bool warn_about_skipped) {
  const Experiment& experiment = sweep.experiment;
  sweep.dataset = load_experiment_dataset(experiment);
  if (warn_about_skipped && !sweep.dataset.skipped.empty())
    log::warn("{} dataset items skipped (listed in the results database, table skipped)", sweep.dataset.skipped.size());
  sweep.registry = std::make_unique<PluginRegistry>(PluginRegistry::search_path(plugin_dirs(vm)));
  if (experiment.scorer.needs_embedder() || (experiment.output.submission && experiment.scorer.enabled))
    sweep.embedder = make_scorer(*sweep.registry, experiment.scorer.component);
  sweep.scoring = make_scoring(experiment.scorer.metrics, sweep.embedder);
  sweep.components = std::make_unique<PluginComponents>(*sweep.registry);
}

// Opens (creating its folder) the database a process writes.
std::unique_ptr<ResultsStore> open_store(const Sweep& sweep, const fs::path& database) {
  fs::create_directories(database.parent_path());
  auto store = std::make_unique<ResultsStore>(database);
  // For the report's header: who wrote the results, when, and what "auto" meant here.
  store->set_meta("capbench_version", version());
  store->set_meta("run_date", fmt::format("{:%Y-%m-%d %H:%M} UTC", fmt::gmtime(std::time(nullptr))));
  store->set_meta("auto_device", resolve_device("auto"));
  if (sweep.experiment.scorer.enabled)
    store->set_meta("scorer_checkpoint", fs::absolute(sweep.experiment.scorer.component.checkpoint).string());
  return store;
}

// Captions still to make in this process's shard.
int64_t captions_to_make(const Sweep& sweep, const ResultsStore& store) {
  return pending_work(select_runs(sweep.experiment, sweep.runner.run_ids),
                      select_shard(sweep.dataset.items, sweep.runner.shard_index, sweep.runner.shard_count), store,
                      sweep.dataset.skip_errors);
}

// Runs the sweep into `store`; Ctrl-C or SIGTERM finishes the batch in flight.
RunnerReport run_interruptibly(Sweep& sweep, ResultsStore& store, Progress& progress) {
  sweep.runner.progress = &progress;
  stop_requested.store(false);
  stop_signal.store(0);
  sweep.runner.stop = &stop_requested;
  const StopSignals signals;
  RunnerReport report =
      run_sweep(sweep.experiment, sweep.dataset, *sweep.components, sweep.scoring_or_null(), store, sweep.runner);
  report.interrupted = report.interrupted || stop_requested.load();
  return report;
}

// One process: all images, --shard K/N (both into OUTPUT/results.sqlite, as
// always), or one task of a SLURM job array (into its shard's database).
int run_process(const po::variables_map& vm, const distributed::Shard& shard, bool array_task) {
  Sweep sweep = load_experiment_options(vm);
  sweep.runner.shard_index = shard.index;
  sweep.runner.shard_count = shard.count;
  const Experiment& experiment = sweep.experiment;
  fs::path database = array_task ? distributed::shard_folder(experiment.output.dir, shard) / "results.sqlite"
                                 : experiment.output.dir / "results.sqlite";
  if (array_task)
    std::cerr << "capbench run: job array task, shard " << distributed::shard_text(shard) << " into "
              << database.string() << "\n";
  load_components(sweep, vm, true);
  // Past a file size limit a write then fails (EFBIG) and the run ends with an
  // error, its database whole, instead of being killed by SIGXFSZ.
  std::signal(SIGXFSZ, SIG_IGN);
  create_output_folder(database.parent_path());
  // An array task's shard folder is its own; runs of distinct --shard K/N share OUTPUT.
  const OutputLock lock(database.parent_path(), array_task ? 1 : shard.index, array_task ? 1 : shard.count);
  std::unique_ptr<ResultsStore> store = open_store(sweep, database);

  std::vector<const RunSpec*> selected = select_runs(experiment, sweep.runner.run_ids);
  auto items = select_shard(sweep.dataset.items, shard.index, shard.count);
  const int64_t todo = captions_to_make(sweep, *store);
  const auto left_out = static_cast<int64_t>(images_left_out(*store, items, sweep.dataset.skip_errors).size());
  const auto runs = static_cast<int64_t>(selected.size()), images = static_cast<int64_t>(items.size());
  std::cerr << "capbench run: " << experiment.name << ": " << runs << " runs x " << images << " images, " << todo
            << " captions to make (" << (images - left_out) * runs - todo << " already saved";
  if (left_out > 0) std::cerr << "; " << left_out << " image" << (left_out == 1 ? "" : "s") << " skipped by an earlier run";
  std::cerr << ")\n";
  Progress progress(std::cerr, todo, runs, Progress::stderr_is_terminal());
  RunnerReport report = run_interruptibly(sweep, *store, progress);

  if (report.interrupted) {
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
  std::cerr << "; results in " << store->file().string() << "\n";
  if (array_task) {
    std::cerr << "capbench run: once every task of the array has finished, combine them: capbench merge "
              << experiment.file.string() << "\n";
    return 0;
  }
  record_reference_rows(experiment, *store, sweep.embedder.get());
  write_sweep_outputs("run", experiment, *store, sweep.embedder.get());
  std::cout << "see the results: capbench leaderboard " << experiment.output.dir.string() << "\n";
  return 0;
}

// One rank of an MPI job: shard rank+1 of the ranks, into its own database;
// rank 0 merges them (app/distributed/rank_job.h says how the ranks agree).
int run_rank(const po::variables_map& vm, distributed::MpiWorld& world) {
  const distributed::Shard shard{world.rank() + 1, world.size()};
  const bool root = world.rank() == 0;
  if (!root && !vm.count("verbose")) log::set_verbosity(log::Verbosity::quiet);
  Sweep sweep;
  std::unique_ptr<ResultsStore> store;

  distributed::RankWork work;
  work.prepare = [&] {
    int64_t threads = distributed::claim_rank_threads(world.local_size());
    sweep = load_experiment_options(vm);
    sweep.runner.shard_index = shard.index;
    sweep.runner.shard_count = shard.count;
    distributed::place_on_rank_gpu(sweep.experiment, world.local_rank(), distributed::cuda_devices());
    // One write per line: the lines of all ranks meet in one stream.
    std::cerr << ("capbench run: rank " + std::to_string(world.rank()) + " of " + std::to_string(world.size()) +
                  " on " + world.host() + ": shard " + distributed::shard_text(shard) + ", device " +
                  distributed::devices_used(sweep.experiment) + ", " + std::to_string(threads) +
                  (threads == 1 ? " thread\n" : " threads\n"));
    load_components(sweep, vm, root);
    store = open_store(sweep, distributed::shard_folder(sweep.experiment.output.dir, shard) / "results.sqlite");
    return distributed::RankPlan{static_cast<int64_t>(select_runs(sweep.experiment, sweep.runner.run_ids).size()),
                                 static_cast<int64_t>(select_shard(sweep.dataset.items, shard.index, shard.count).size()),
                                 captions_to_make(sweep, *store)};
  };
  work.announce = [&](const distributed::JobPlan& plan) {
    std::cerr << ("capbench run: " + sweep.experiment.name + ": " + std::to_string(plan.runs) + " runs x " +
                  std::to_string(plan.images) + " images in " + std::to_string(plan.ranks) + " shards, " +
                  std::to_string(plan.todo) + " captions to make (" +
                  std::to_string(plan.images * plan.runs - plan.todo) + " already saved)\n");
  };
  work.run = [&](Progress& progress) {
    RunnerReport report;
    try {
      report = run_interruptibly(sweep, *store, progress);
    } catch (...) {
      store.reset();
      throw;
    }
    // Closed before rank 0 reads it (from another machine, perhaps).
    store.reset();
    return report.interrupted ? 130 : 0;
  };
  work.finish = [&](const distributed::JobResult& job) {
    return finish_sharded_sweep("run", sweep.experiment, sweep.dataset, sweep.embedder, sweep.scoring_or_null(),
                                job.captions_made, job.seconds);
  };
  return distributed::run_rank_job(world, work, {&std::cerr, Progress::stderr_is_terminal()});
}

}  // namespace

int run_run(const std::vector<std::string>& args) {
  po::options_description options("run options");
  options.add_options()("experiment", po::value<std::string>()->required(), "experiment file (TOML)")(
      "runs", po::value<std::string>(), "only these run ids (comma-separated; see capbench plan)")(
      "batch-size", po::value<int64_t>()->default_value(8), "images per batch (and per saved transaction)")(
      "shard", po::value<std::string>(),
      "take a deterministic 1/N of the images: K/N into OUTPUT/results.sqlite (combine with capbench merge DIR... "
      "--output DIR); auto: the shard of this SLURM job-array task (the default inside a job array), into "
      "OUTPUT/shards/K-of-N (combine with capbench merge EXPERIMENT.toml). Under mpirun or srun each rank takes its "
      "own shard and rank 0 merges");
  po::positional_options_description positional;
  positional.add("experiment", 1);
  po::variables_map vm;
  if (!parse(args, command("run"), options, positional, vm)) return 0;

  const distributed::Environment env = distributed::process_environment();
  const std::string shard_flag = vm.count("shard") ? vm["shard"].as<std::string>() : "";
  std::unique_ptr<distributed::MpiWorld> world;
  if (distributed::started_by_mpi_launcher(env)) {
    world = distributed::MpiWorld::join();
    const int64_t srun = distributed::srun_tasks(env);
    if (srun > 1 && srun != world->size())
      throw Error("srun started " + std::to_string(srun) + " tasks but MPI sees " + std::to_string(world->size()) +
                  ": srun could not hand the ranks to MPI; use srun --mpi=pmix (srun --mpi=list shows what the "
                  "cluster offers), or mpirun inside the allocation");
    if (world->size() > 1) {
      if (!shard_flag.empty() && shard_flag != "auto")
        throw UsageError("--shard " + shard_flag + " under mpirun/srun: each rank takes its own shard (rank+1 of the ranks)");
      if (env("SLURM_ARRAY_TASK_ID"))
        throw UsageError("several MPI ranks inside a SLURM job array: split the work one way, ranks or array tasks, "
                         "not both");
      return run_rank(vm, *world);
    }
    // A world of one (srun -n 1, mpirun -np 1) runs as a plain process.
  }
  if (shard_flag.empty() || shard_flag == "auto") {
    if (auto array = distributed::slurm_array_shard(env)) return run_process(vm, *array, true);
    if (shard_flag == "auto")
      throw UsageError("--shard auto takes the shard of a SLURM job-array task, but SLURM_ARRAY_TASK_ID is not set");
  }
  distributed::Shard shard;
  if (!shard_flag.empty()) std::tie(shard.index, shard.count) = parse_shard(shard_flag);
  return run_process(vm, shard, false);
}

}  // namespace capbench::cli
