#pragma once
// The databases of a sweep split into shards (MPI ranks, SLURM array tasks):
// shard K of N writes OUTPUT/shards/K-of-N/results.sqlite, so no two processes
// ever write one SQLite file, and merge_shards() combines them into
// OUTPUT/results.sqlite. Each shard folder is an ordinary output folder
// (`capbench leaderboard OUTPUT/shards/2-of-4` works).
#include <cstdint>
#include <filesystem>
#include <vector>

#include "app/distributed/launcher.h"
#include "app/results_store.h"
#include "app/runner/runner.h"

namespace capbench::distributed {

// OUTPUT/shards/K-of-N.
std::filesystem::path shard_folder(const std::filesystem::path& output_dir, const Shard& shard);

struct ShardDatabase {
  Shard shard;
  std::filesystem::path file;
};

// Every shard database under OUTPUT/shards, by N, then K.
std::vector<ShardDatabase> find_shard_databases(const std::filesystem::path& output_dir);

struct ShardMerge {
  std::vector<Shard> merged;
  std::vector<Shard> missing;  // without a database, when no N has all its shards
  double seconds = 0;
};

// Copies every shard database of `output_dir` into `store`, records every image
// of the dataset (a shard that never ran leaves its images without captions,
// instead of a smaller dataset whose runs look complete), then recomputes the
// whole-set metrics. Shards of different N may be merged together: a caption
// depends on its image and settings only. Merging again adds only what is new.
ShardMerge merge_shards(ResultsStore& store, const std::filesystem::path& output_dir,
                        const std::vector<StoredImage>& images, const Scoring* scoring);

}  // namespace capbench::distributed
