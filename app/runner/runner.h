#pragma once
// Runs the runs of an experiment over a dataset and records everything in a
// ResultsStore, resumably:
//  - images go through the encoder + bridge once per batch for all runs that
//    share them (image_side_key); decoders are made once per distinct decoder;
//  - each batch (fixed positions in the shard's stable image order) is written
//    in one transaction for all its runs, so after a kill the next call redoes at
//    most the batch in flight, with the same composition;
//  - sampling runs caption one image at a time, each from the run's seed (as
//    transformers after torch.manual_seed(seed) on that image alone), so
//    captions never depend on the batch;
//  - with the dataset's on_error = "skip", an image whose file cannot be decoded
//    or preprocessed is recorded in the table `skipped` with its reason and left
//    out (its batch is captioned without it); later calls leave it out until
//    its file changes. With "fail" it ends the call with one error line;
//  - whole-set metrics (BLEU, CIDEr, ...) are computed when a run completes;
//    per-image cosine as captions are produced.
#include <atomic>
#include <cstdint>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "app/experiment/experiment.h"
#include "app/progress.h"
#include "app/results_store.h"
#include "app/runner/components.h"
#include "datasets/dataset.h"
#include "metrics/metrics.h"

namespace capbench {

// How captions become scores. metrics/ provides compute_metrics, but metrics/
// links core, so the caller hands it in.
struct Scoring {
  std::vector<std::string> metrics;  // every metric of the experiment's scorer
  // (metrics, predictions, references) -> one MetricScores per metric, per_image aligned with predictions.
  std::function<std::vector<MetricScores>(const std::vector<std::string>&, const std::vector<std::string>&,
                                          const std::vector<std::vector<std::string>>&)>
      compute;
};

struct RunnerOptions {
  std::vector<std::string> run_ids;         // runs to run; empty = all
  int64_t batch_size = 8;                   // images per encoder/decoder batch
  int64_t shard_index = 1;                  // --shard K/N: this process takes shard K (1-based) ...
  int64_t shard_count = 1;                  // ... of N
  const std::atomic<bool>* stop = nullptr;  // when set: finish the current batch, save, return
  Progress* progress = nullptr;             // updated after every batch
};

struct RunnerReport {
  bool interrupted = false;
  int64_t runs_total = 0;
  int64_t runs_complete = 0;
  int64_t predictions_made = 0;  // images x runs captioned by this call
  int64_t images = 0;            // images of this shard
  int64_t images_skipped = 0;    // of which left out because their file fails (table skipped)
  double seconds = 0;
};

// The items of shard `index` (1-based) of `count`: those whose id hashes to it,
// in their original order. Stable when images are added or removed.
std::vector<DatasetItem> select_shard(const std::vector<DatasetItem>& items, int64_t index, int64_t count);

// Ids of `items` recorded as skipped images by an earlier call (with
// `skip_errors`) whose files have not changed since; empty without skip_errors.
std::set<std::string> images_left_out(const ResultsStore& store, const std::vector<DatasetItem>& items,
                                      bool skip_errors);

// The runs with the given ids (all runs when `ids` is empty); throws Error for an unknown id.
std::vector<const RunSpec*> select_runs(const Experiment& experiment, const std::vector<std::string>& ids);

// Runs grouped by the image side they share (equal image_side_key), groups and
// runs in experiment order.
std::vector<std::vector<const RunSpec*>> group_by_image_side(const std::vector<const RunSpec*>& runs);

// Work still to do: images x runs without a prediction, images left out not
// counted (for plan and progress).
int64_t pending_work(const std::vector<const RunSpec*>& runs, const std::vector<DatasetItem>& items,
                     const ResultsStore& store, bool skip_errors);

RunnerReport run_sweep(const Experiment& experiment, const Dataset& dataset, ComponentFactory& components,
                       const Scoring* scoring, ResultsStore& store, const RunnerOptions& options);

// Recomputes the run-level metrics of the given runs (all when empty): a run
// whose every stored image has a caption gets its whole-set metrics; others lose
// stale ones. `scoring` may be null (nothing is scored).
void finalize_runs(ResultsStore& store, const Scoring* scoring, const std::vector<std::string>& run_ids = {});

}  // namespace capbench
