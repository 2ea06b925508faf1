// The agreement between ranks (rank_job.h) over an in-memory transport, each
// rank a thread: rank 0 waits for all, merges only when all succeeded, names a
// failing rank, shows the combined progress.
#include <doctest/doctest.h>

#include <deque>
#include <memory>
#include <mutex>
#include <sstream>
#include <thread>
#include <vector>

#include "app/distributed/rank_job.h"
#include "core/error.h"

using namespace capbench;
using namespace capbench::distributed;

namespace {

// Mailboxes of every rank, shared by the threads.
struct Mailboxes {
  std::mutex mutex;
  std::vector<std::deque<Message>> boxes;
  explicit Mailboxes(int ranks) : boxes(static_cast<size_t>(ranks)) {}
};

class MemoryTransport : public Transport {
 public:
  MemoryTransport(Mailboxes& boxes, int rank) : boxes_(boxes), rank_(rank) {}
  int rank() const override { return rank_; }
  int size() const override { return static_cast<int>(boxes_.boxes.size()); }
  void send(int to, int kind, const std::string& body) override {
    std::lock_guard<std::mutex> lock(boxes_.mutex);
    boxes_.boxes.at(static_cast<size_t>(to)).push_back({rank_, kind, body});
  }
  bool post(int to, int kind, const std::string& body) override {
    send(to, kind, body);
    return true;
  }
  std::optional<Message> receive() override {
    std::lock_guard<std::mutex> lock(boxes_.mutex);
    auto& box = boxes_.boxes.at(static_cast<size_t>(rank_));
    if (box.empty()) return std::nullopt;
    Message m = box.front();
    box.pop_front();
    return m;
  }

 private:
  Mailboxes& boxes_;
  int rank_;
};

// What each simulated rank does: `images` captions, one progress update each, or a failure.
struct Behaviour {
  int64_t todo = 4;
  std::string fail_in_prepare;  // an Error's message
  std::string fail_in_run;
  bool usage_error = false;
  bool interrupted = false;
};

struct Outcome {
  std::vector<int> status;
  std::vector<std::string> err;
  int finish_calls = 0;
  JobResult result;
  JobPlan announced;
};

Outcome run_job(const std::vector<Behaviour>& ranks, int finish_status = 0) {
  const int n = static_cast<int>(ranks.size());
  Mailboxes boxes(n);
  Outcome outcome;
  outcome.status.resize(ranks.size());
  std::vector<std::ostringstream> err(ranks.size());
  std::vector<std::thread> threads;
  for (int r = 0; r < n; ++r)
    threads.emplace_back([&, r] {
      const Behaviour& b = ranks[static_cast<size_t>(r)];
      MemoryTransport transport(boxes, r);
      RankWork work;
      work.prepare = [&] {
        if (b.usage_error) throw UsageError("--runs: no run 'x'");
        if (!b.fail_in_prepare.empty()) throw Error(b.fail_in_prepare);
        return RankPlan{2, b.todo / 2, b.todo};
      };
      work.announce = [&](const JobPlan& plan) { outcome.announced = plan; };
      work.run = [&](Progress& progress) {
        progress.update(0, b.todo == 0 ? 2 : 0);  // as the runner does: runs already complete
        for (int64_t i = 1; i <= b.todo; ++i) {
          progress.update(i, i == b.todo ? 2 : 0);
          std::this_thread::sleep_for(std::chrono::milliseconds(2));
        }
        if (!b.fail_in_run.empty()) throw Error(b.fail_in_run);
        progress.finish();
        return b.interrupted ? 130 : 0;
      };
      work.finish = [&](const JobResult& result) {
        ++outcome.finish_calls;
        outcome.result = result;
        return finish_status;
      };
      outcome.status[static_cast<size_t>(r)] = run_rank_job(transport, work, {&err[static_cast<size_t>(r)], false, 0.001});
    });
  for (auto& t : threads) t.join();
  for (auto& e : err) outcome.err.push_back(e.str());
  return outcome;
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("rank 0 waits for every rank, then finishes once with the captions of all") {
  Outcome o = run_job({{4}, {6}, {0}});
  CHECK(o.status == std::vector<int>{0, 0, 0});
  CHECK(o.finish_calls == 1);
  CHECK(o.result.captions_made == 10);
  CHECK(o.announced.ranks == 3);
  CHECK(o.announced.todo == 10);
  CHECK(o.announced.images == 5);
  CHECK(o.announced.runs == 2);
  // The combined progress: every rank's captions, runs done in every shard.
  CHECK(contains(o.err[0], "10/10 images x runs, runs done 2/2"));
  CHECK(o.err[1].empty());  // other ranks are quiet
  CHECK(o.err[2].empty());
}

TEST_CASE("rank 0's status is the job's: the finish step's status reaches the launcher through rank 0") {
  Outcome o = run_job({{2}, {2}}, 1);
  CHECK(o.status == std::vector<int>{1, 0});
}

TEST_CASE("a rank that fails is named with its error; the others finish their shards; nothing is merged") {
  Behaviour bad;
  bad.fail_in_run = "cannot decode image images/x.png";
  Outcome o = run_job({{4}, bad, {4}});
  CHECK(o.status[0] == 1);
  CHECK(o.status[1] == 0);
  CHECK(o.status[2] == 0);
  CHECK(o.finish_calls == 0);
  CHECK(contains(o.err[1], "capbench run: rank 1 of 3: error: cannot decode image images/x.png"));  // at once, by the rank
  CHECK(contains(o.err[0], "capbench run: rank 1 of 3 failed: error: cannot decode image images/x.png"));
  CHECK(contains(o.err[0], "run the same command again"));
}

TEST_CASE("ranks failing the same way are named together; a usage error makes the status 2") {
  Behaviour usage;
  usage.usage_error = true;
  Outcome o = run_job({usage, usage, usage});
  CHECK(o.status[0] == 2);
  CHECK(o.finish_calls == 0);
  CHECK(contains(o.err[0], "ranks 0, 1, 2 of 3 failed: --runs: no run 'x'"));
}

TEST_CASE("a rank failing before it plans, rank 0 failing, and an interrupted rank") {
  Behaviour early;
  early.fail_in_prepare = "no plugin 'opt'";
  Behaviour stopped;
  stopped.interrupted = true;
  Outcome o = run_job({early, {3}, stopped});
  CHECK(o.status[0] == 1);  // the first rank that did not succeed sets the status
  CHECK(o.finish_calls == 0);
  CHECK(contains(o.err[0], "rank 0 of 3 failed: error: no plugin 'opt'"));
  CHECK(contains(o.err[0], "rank 2 of 3 interrupted"));

  Outcome only_interrupted = run_job({{2}, stopped});
  CHECK(only_interrupted.status[0] == 130);
}
