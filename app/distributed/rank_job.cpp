#include "app/distributed/rank_job.h"

#include <c10/util/Exception.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>
#include <vector>

#include "core/error.h"

namespace capbench::distributed {

namespace {

using Clock = std::chrono::steady_clock;
using nlohmann::json;

struct Failure {
  int status = 1;
  std::string message;
};

// The exit status and the one line a user reads, as main() would print them.
Failure describe(std::exception_ptr error) {
  try {
    std::rethrow_exception(error);
  } catch (const UsageError& e) {
    return {2, e.what()};
  } catch (const c10::Error& e) {
    std::string message = e.what_without_backtrace();
    return {1, "error: " + message.substr(0, message.find('\n'))};
  } catch (const std::exception& e) {
    return {1, std::string("error: ") + e.what()};
  } catch (...) {
    return {1, "error: unknown exception"};
  }
}

std::string rank_name(int rank, int size) { return "rank " + std::to_string(rank) + " of " + std::to_string(size); }

void pause(double seconds) { std::this_thread::sleep_for(std::chrono::duration<double>(seconds)); }

// --- ranks other than 0 --------------------------------------------------

// Hands the runner's counts to rank 0 (at most a few times a second); prints nothing.
class ForwardingProgress : public Progress {
 public:
  ForwardingProgress(Transport& transport, std::ostream& out) : Progress(out, 0, 0, false), transport_(transport) {}
  void update(int64_t work_done, int64_t runs_done) override {
    work_done_ = work_done;
    runs_done_ = runs_done;
    auto now = Clock::now();
    if (now - last_post_ < std::chrono::milliseconds(250)) return;
    if (transport_.post(0, kProgress, json{{"done", work_done}, {"runs", runs_done}}.dump())) last_post_ = now;
  }
  void finish() override {}
  int64_t work_done() const { return work_done_; }
  int64_t runs_done() const { return runs_done_; }

 private:
  Transport& transport_;
  int64_t work_done_ = 0, runs_done_ = 0;
  Clock::time_point last_post_{};
};

int run_other_rank(Transport& transport, const RankWork& work, const JobOptions& options) {
  std::ostream& err = *options.err;
  const std::string name = rank_name(transport.rank(), transport.size());
  ForwardingProgress progress(transport, err);
  json done = {{"status", 0}, {"error", ""}};
  try {
    RankPlan plan = work.prepare();
    transport.send(0, kPlan, json{{"runs", plan.runs}, {"images", plan.images}, {"todo", plan.todo}}.dump());
    done["status"] = work.run(progress);
  } catch (...) {
    Failure failure = describe(std::current_exception());
    err << ("capbench run: " + name + ": " + failure.message + "\n") << std::flush;  // one write: ranks share the stream
    done = {{"status", failure.status}, {"error", failure.message}};
  }
  done["done"] = progress.work_done();
  done["runs"] = progress.runs_done();
  transport.send(0, kDone, done.dump());
  // Stay in the job until rank 0 has merged: MPI_Finalize would wait anyway,
  // and a launcher may end the job when one process leaves early.
  for (;;) {
    while (auto message = transport.receive())
      if (message->kind == kFinish) return 0;
    pause(options.poll_seconds);
  }
}

// --- rank 0 ----------------------------------------------------------------

struct RankState {
  bool planned = false;
  bool done = false;
  RankPlan plan;
  int64_t work_done = 0;
  int64_t runs_done = 0;
  int status = 0;
  std::string error;
};

class Coordinator {
 public:
  explicit Coordinator(Transport& transport) : transport_(transport), ranks_(static_cast<size_t>(transport.size())) {}

  RankState& own() { return ranks_[0]; }

  // Reads every message that has arrived.
  void drain() {
    while (auto message = transport_.receive()) handle(*message);
  }

  // Waits (reading messages) until `ready` holds for every rank.
  template <class Ready, class Idle>
  void wait_for(Ready ready, Idle idle, double poll_seconds) {
    for (;;) {
      drain();
      if (std::all_of(ranks_.begin(), ranks_.end(), ready)) return;
      idle();
      pause(poll_seconds);
    }
  }

  JobPlan plan() const {
    JobPlan total;
    total.ranks = static_cast<int64_t>(ranks_.size());
    for (const RankState& r : ranks_) {
      total.runs = std::max(total.runs, r.plan.runs);
      total.images += r.plan.images;
      total.todo += r.plan.todo;
    }
    return total;
  }

  int64_t work_done() const {
    int64_t n = 0;
    for (const RankState& r : ranks_) n += r.work_done;
    return n;
  }

  // Runs done in every shard. Every rank goes through the runs' image sides in
  // the same order, so the sets of runs done are nested and the smallest count
  // is the count of runs done everywhere.
  int64_t runs_done() const {
    int64_t n = ranks_.front().runs_done;
    for (const RankState& r : ranks_) n = std::min(n, r.runs_done);
    return n;
  }

  const std::vector<RankState>& ranks() const { return ranks_; }

 private:
  void handle(const Message& message) {
    if (message.source <= 0 || message.source >= static_cast<int>(ranks_.size())) return;
    RankState& r = ranks_[static_cast<size_t>(message.source)];
    json body = json::parse(message.body, nullptr, false);
    if (body.is_discarded()) return;
    switch (message.kind) {
      case kPlan:
        r.planned = true;
        r.plan = {body.value("runs", int64_t{0}), body.value("images", int64_t{0}), body.value("todo", int64_t{0})};
        break;
      case kProgress:
        r.work_done = body.value("done", r.work_done);
        r.runs_done = body.value("runs", r.runs_done);
        break;
      case kDone:
        r.done = true;
        r.status = body.value("status", 1);
        r.error = body.value("error", std::string());
        r.work_done = body.value("done", r.work_done);
        r.runs_done = body.value("runs", r.runs_done);
        break;
      default:
        break;
    }
  }

  Transport& transport_;
  std::vector<RankState> ranks_;
};

// Rank 0's progress line: the counts of every rank added up.
class CombinedProgress : public Progress {
 public:
  CombinedProgress(Coordinator& job, std::ostream& out, const JobPlan& plan, bool bar)
      : Progress(out, plan.todo, plan.runs, bar), job_(job), bar_(bar) {}
  void update(int64_t work_done, int64_t runs_done) override {
    job_.own().work_done = work_done;
    job_.own().runs_done = runs_done;
    job_.drain();
    show();
  }
  // The runner's end is not the job's: end() is called once every rank is done.
  void finish() override {}
  // Redraws (a bar at most twice a second; plain lines at Progress's own pace).
  void refresh() {
    if (bar_ && Clock::now() - last_draw_ < std::chrono::milliseconds(500)) return;
    show();
  }
  void end() {
    Progress::update(job_.work_done(), job_.runs_done());
    Progress::finish();
  }

 private:
  void show() {
    last_draw_ = Clock::now();
    Progress::update(job_.work_done(), job_.runs_done());
  }
  Coordinator& job_;
  bool bar_;
  Clock::time_point last_draw_{};
};

// "rank 1 of 3 failed: error: ..." per distinct message (ranks with the same one together).
void report_failures(std::ostream& err, const std::vector<RankState>& ranks) {
  std::map<std::string, std::vector<size_t>> by_message;
  std::vector<std::string> order;
  for (size_t i = 0; i < ranks.size(); ++i) {
    if (ranks[i].status == 0) continue;
    std::string message = ranks[i].status == 130 ? "interrupted" : ranks[i].error;
    if (!by_message.count(message)) order.push_back(message);
    by_message[message].push_back(i);
  }
  const std::string of = " of " + std::to_string(ranks.size());
  for (const std::string& message : order) {
    const std::vector<size_t>& which = by_message[message];
    std::string names = which.size() == 1 ? "rank " : "ranks ";
    for (size_t i = 0; i < which.size(); ++i) names += (i ? ", " : "") + std::to_string(which[i]);
    err << ("capbench run: " + names + of + (message == "interrupted" ? " interrupted" : " failed: " + message) + "\n");
  }
}

int run_rank_zero(Transport& transport, const RankWork& work, const JobOptions& options) {
  std::ostream& err = *options.err;
  const std::string name = rank_name(0, transport.size());
  const auto start = Clock::now();
  Coordinator job(transport);
  auto fail = [&](std::exception_ptr error) {
    Failure failure = describe(error);
    err << ("capbench run: " + name + ": " + failure.message + "\n") << std::flush;
    job.own().status = failure.status;
    job.own().error = failure.message;
  };

  try {
    job.own().plan = work.prepare();
    job.own().planned = true;
  } catch (...) {
    fail(std::current_exception());
    job.own().done = true;
  }
  job.wait_for([](const RankState& r) { return r.planned || r.done; }, [] {}, options.poll_seconds);
  if (job.own().planned) {
    try {
      work.announce(job.plan());
    } catch (...) {
      fail(std::current_exception());
    }
  }
  CombinedProgress progress(job, err, job.plan(), options.bar);
  if (job.own().planned && job.own().status == 0) {
    try {
      job.own().status = work.run(progress);
    } catch (...) {
      fail(std::current_exception());
    }
  }
  job.own().done = true;
  job.wait_for([](const RankState& r) { return r.done; }, [&] { progress.refresh(); }, options.poll_seconds);
  progress.end();

  int status = 0;
  for (const RankState& r : job.ranks())
    if (r.status != 0) {
      status = r.status;
      break;
    }
  if (status != 0) {
    report_failures(err, job.ranks());
    err << "capbench run: every shard keeps what it saved; run the same command again to finish and merge\n";
  } else {
    try {
      status = work.finish({job.work_done(), std::chrono::duration<double>(Clock::now() - start).count()});
    } catch (...) {
      Failure failure = describe(std::current_exception());
      err << ("capbench run: " + failure.message + "\n") << std::flush;
      status = failure.status;
    }
  }
  for (int r = 1; r < transport.size(); ++r) transport.send(r, kFinish, json{{"status", status}}.dump());
  return status;
}

}  // namespace

int run_rank_job(Transport& transport, const RankWork& work, const JobOptions& options) {
  JobOptions checked = options;
  if (!checked.err) throw Error("run_rank_job needs an error stream");
  return transport.rank() == 0 ? run_rank_zero(transport, work, checked) : run_other_rank(transport, work, checked);
}

}  // namespace capbench::distributed
