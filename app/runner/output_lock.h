#pragma once
// Who may write into an output folder: one unsharded `capbench run`, or any
// number of runs of distinct shards (--shard K/N, disjoint images) at a time.
// flock(2) locks on files in the folder: an unsharded run holds
// .capbench-run.lock exclusively; a shard holds it shared and
// .capbench-run-shard-K-of-N.lock exclusively. Each lock file holds "pid PID on
// host HOST since TIME" of its owner, for the message a refused run prints. The
// kernel drops the locks when their process ends, however it ends, so a killed
// run never leaves a folder locked.
#include <cstdint>
#include <filesystem>

namespace capbench {

class OutputLock {
 public:
  // Takes the locks for shard `shard_index` of `shard_count` (1 of 1: the
  // whole dataset); throws Error naming a process that holds a conflicting
  // lock, or saying why the folder cannot be written (read-only, full).
  OutputLock(const std::filesystem::path& dir, int64_t shard_index = 1, int64_t shard_count = 1);
  ~OutputLock();
  OutputLock(const OutputLock&) = delete;
  OutputLock& operator=(const OutputLock&) = delete;

  static std::filesystem::path folder_file(const std::filesystem::path& dir) { return dir / ".capbench-run.lock"; }
  static std::filesystem::path shard_file(const std::filesystem::path& dir, int64_t index, int64_t count);

 private:
  int folder_fd_ = -1, shard_fd_ = -1;
};

}  // namespace capbench
