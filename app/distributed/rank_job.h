#pragma once
// One sweep split over the ranks of an MPI job. Every rank prepares its shard
// and runs it; rank 0 also shows the combined progress, waits for every rank,
// then (when all succeeded) merges and writes the outputs. A rank that fails
// says so at once on its own stderr and reports to rank 0, which names it and
// its error at the end and makes the job's exit status non-zero; the other
// ranks finish their shards, so that running the command again only redoes
// what is missing. Ranks other than 0 always exit 0: the job's status is rank
// 0's, so the launcher does not tear the job down while rank 0 merges.
#include <cstdint>
#include <functional>
#include <ostream>

#include "app/distributed/transport.h"
#include "app/progress.h"

namespace capbench::distributed {

// Message kinds (MPI tags).
enum MessageKind : int { kPlan = 1, kProgress = 2, kDone = 3, kFinish = 4 };

// What a rank found to do in its shard.
struct RankPlan {
  int64_t runs = 0;    // runs of the sweep
  int64_t images = 0;  // images of the shard
  int64_t todo = 0;    // image x run pairs still to caption
};

// The plans of all ranks added up (runs: the sweep's).
struct JobPlan {
  int64_t ranks = 0;
  int64_t runs = 0;
  int64_t images = 0;
  int64_t todo = 0;
};

// What the job did, for rank 0's closing lines.
struct JobResult {
  int64_t captions_made = 0;  // image x run pairs captioned by all ranks
  double seconds = 0;         // since rank 0 started
};

// What a rank does, supplied by `capbench run`. Each step may throw; an Error's
// message is what the user reads (a UsageError makes the status 2).
struct RankWork {
  std::function<RankPlan()> prepare;                 // load the sweep, open the shard's database
  std::function<void(const JobPlan&)> announce;      // rank 0: print the job's plan
  std::function<int(Progress& progress)> run;        // run the shard: 0, or 130 when interrupted
  std::function<int(const JobResult&)> finish;       // rank 0, every rank succeeded: merge and write the outputs
};

struct JobOptions {
  std::ostream* err = nullptr;  // messages and rank 0's progress
  bool bar = false;             // redraw rank 0's progress in place (a terminal)
  double poll_seconds = 0.05;   // how often a waiting rank looks for messages
};

// Runs `work` as rank transport.rank() of transport.size(); returns this
// process's exit status.
int run_rank_job(Transport& transport, const RankWork& work, const JobOptions& options);

}  // namespace capbench::distributed
