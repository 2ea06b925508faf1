#pragma once
// What a sweep leaves beside OUTPUT/results.sqlite once its results are in
// (after `capbench run`, after the merge of a distributed run's shards).
#include <cstdint>
#include <memory>
#include <string>

#include "app/experiment/experiment.h"
#include "app/results_store.h"
#include "app/runner/runner.h"
#include "core/plugin_api.h"
#include "datasets/dataset.h"

namespace capbench::cli {

// The leaderboard's reference rows (the ground truth and "a photo", scored by
// the experiment's scorer) recorded in `store` unless already there for its
// images; nothing without a cosine scorer. Before the leaderboard is printed.
void record_reference_rows(const Experiment& experiment, ResultsStore& store, SentenceEmbedder* embedder);

// The submission files when the experiment asks for them (output.submission),
// and the report. `embedder` may be null when no submission is asked for.
// Messages start with "capbench COMMAND:".
void write_sweep_outputs(const std::string& command, const Experiment& experiment, ResultsStore& store,
                         SentenceEmbedder* embedder);

// Merges the shard databases under OUTPUT/shards into OUTPUT/results.sqlite
// (every image of `dataset` recorded), then prints what was merged and the
// leaderboard and writes the outputs. `captions_made` >= 0 adds the line a
// single `capbench run` ends with. Returns the exit status.
int finish_sharded_sweep(const std::string& command, const Experiment& experiment, const Dataset& dataset,
                         const std::shared_ptr<SentenceEmbedder>& embedder, const Scoring* scoring,
                         int64_t captions_made = -1, double seconds = 0);

}  // namespace capbench::cli
