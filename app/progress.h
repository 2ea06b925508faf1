#pragma once
// Progress of a long job: a redrawn bar on a terminal, plain periodic lines
// otherwise (logs, CI). Counts units of work (here: image x run pairs).
#include <chrono>
#include <cstdint>
#include <ostream>
#include <string>

namespace capbench {

class Progress {
 public:
  // `bar`: redraw one line in place (for a terminal); otherwise print a line
  // every `line_every` seconds.
  Progress(std::ostream& out, int64_t total_work, int64_t total_runs, bool bar, double line_every = 10.0);
  // Virtual so that a distributed run can forward counts to rank 0 (app/distributed/rank_job.cpp).
  virtual ~Progress() = default;

  // `work_done` units finished so far in this process, `runs_done` runs complete.
  virtual void update(int64_t work_done, int64_t runs_done);
  // Prints the final state (and ends the bar's line).
  virtual void finish();

  // True when stderr is a terminal.
  static bool stderr_is_terminal();

 private:
  std::string line() const;
  std::ostream& out_;
  int64_t total_work_, total_runs_;
  int64_t work_done_ = 0, runs_done_ = 0;
  bool bar_;
  double line_every_;
  std::chrono::steady_clock::time_point start_, last_print_;
};

}  // namespace capbench
