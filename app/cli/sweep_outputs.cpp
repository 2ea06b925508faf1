#include "app/cli/sweep_outputs.h"

#include <fmt/format.h>

#include <iostream>

#include "app/cli/command.h"
#include "app/cli/submission_files.h"
#include "app/distributed/shards.h"
#include "app/leaderboard/reference_scores.h"
#include "app/leaderboard/ranking.h"
#include "app/report/write_report.h"
#include "core/error.h"
#include "core/log.h"

namespace capbench::cli {

namespace fs = std::filesystem;

namespace {

// Images in the gallery of the report a sweep ends with (capbench report has no cap).
constexpr int64_t kReportImages = 1000;

// "capbench COMMAND: TEXT" in one write: under mpirun the lines of every rank,
// and rank 0's stdout, meet in one terminal.
void say(const std::string& command, const std::string& text) {
  std::cerr << ("capbench " + command + ": " + text + "\n") << std::flush;
}

}  // namespace

void record_reference_rows(const Experiment& experiment, ResultsStore& store, SentenceEmbedder* embedder) {
  if (embedder && experiment.scorer.enabled && experiment.scorer.needs_embedder())
    update_reference_scores(store, *embedder, fs::absolute(experiment.scorer.component.checkpoint).string());
}

void write_sweep_outputs(const std::string& command, const Experiment& experiment, ResultsStore& store,
                         SentenceEmbedder* embedder) {
  if (experiment.output.submission) {
    if (!embedder) throw Error(experiment.file.string() + ": output.submission needs a [scorer] with a checkpoint");
    for (const fs::path& written : write_run_submissions(store, *embedder, experiment.output.dir))
      say(command, "wrote " + written.string());
  }
  // The report of `capbench report`, written here for every way a sweep ends (one
  // process, rank 0 after the merge, capbench merge EXPERIMENT.toml). The gallery
  // is capped so that a Kaggle-sized sweep gets a page of tens of MiB, not hundreds.
  report::ReportOptions options;
  options.max_images = kReportImages;
  try {
    const report::ReportWritten written = report::write_report(store, experiment.output.dir / "report.html", options);
    say(command, "wrote " + written.file.string() +
                     (written.images < store.images().size()
                          ? " (" + std::to_string(written.images) + " images; capbench report " +
                                experiment.output.dir.string() + " for all of them)"
                          : std::string()));
  } catch (const Error& e) {
    // The results are saved; a page that cannot be written does not undo them.
    log::warn("report not written: {}", e.what());
  }
}

int finish_sharded_sweep(const std::string& command, const Experiment& experiment, const Dataset& dataset,
                         const std::shared_ptr<SentenceEmbedder>& embedder, const Scoring* scoring,
                         int64_t captions_made, double seconds) {
  const fs::path dir = experiment.output.dir;
  if (distributed::find_shard_databases(dir).empty())
    throw Error((dir / "shards").string() + ": no shard databases to merge (capbench run writes them under an MPI "
                                            "launcher, in a SLURM job array or with --shard auto)");
  ResultsStore store(dir / "results.sqlite");
  std::vector<StoredImage> images;
  for (const DatasetItem& item : dataset.items) images.push_back({item.id, item.image.string(), item.references});
  distributed::ShardMerge merge = distributed::merge_shards(store, dir, images, scoring);

  std::string shards;
  for (const distributed::Shard& s : merge.merged) shards += (shards.empty() ? "" : ", ") + distributed::shard_text(s);
  say(command, fmt::format("merged {} shard databases ({}) in {:.3f} s", merge.merged.size(), shards, merge.seconds));
  if (!merge.missing.empty()) {
    std::string missing;
    for (const distributed::Shard& s : merge.missing) missing += (missing.empty() ? "" : ", ") + distributed::shard_text(s);
    log::warn("no database for shard {} yet: its images have no captions (run it, then merge again)", missing);
  }
  Ranking ranking = rank_runs(store);
  int64_t complete = 0;
  for (const RankedRun& run : ranking.runs) complete += run.complete() ? 1 : 0;
  say(command, fmt::format("{}/{} runs complete{}; results in {}\n", complete, ranking.runs.size(),
                           captions_made >= 0 ? fmt::format(", {} captions made in {:.2f} s", captions_made, seconds) : "",
                           store.file().string()));
  record_reference_rows(experiment, store, embedder.get());
  int status = cli::command("leaderboard").run({dir.string()});
  std::cout << std::flush;
  if (status != 0) return status;
  write_sweep_outputs(command, experiment, store, embedder.get());
  return 0;
}

}  // namespace capbench::cli
