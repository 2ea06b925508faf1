// rank_runs and best_complete_run: the order `leaderboard`, `submit` and the
// report share (tests/app/leaderboard/leaderboard_fixture.h has the runs).
#include "app/leaderboard/ranking.h"

#include <doctest/doctest.h>

#include <algorithm>

#include "core/error.h"
#include "tests/app/leaderboard/leaderboard_fixture.h"

using namespace capbench;

namespace {

std::vector<std::string> order(const Ranking& ranking) {
  std::vector<std::string> ids;
  for (const RankedRun& row : ranking.runs) ids.push_back(row.run.id);
  return ids;
}

const RankedRun& row(const Ranking& ranking, const std::string& id) {
  const auto found = std::find_if(ranking.runs.begin(), ranking.runs.end(),
                                  [&](const RankedRun& r) { return r.run.id == id; });
  REQUIRE_MESSAGE(found != ranking.runs.end(), "no run " << id);
  return *found;
}

struct Store {
  testing::TempDir dir;
  ResultsStore store{dir / "results.sqlite"};
  explicit Store(const std::vector<std::string>& metrics = {"cosine", "bleu4"}) {
    testing::write_ranking_fixture(store, metrics);
  }
};

}  // namespace

TEST_CASE("ties: the complete run first, then the experiment's order; runs without the metric last") {
  Store s;
  const Ranking ranking = rank_runs(s.store, "cosine");
  CHECK(ranking.by == "cosine");
  // r2 and r3 tie at 0.7 (r3 incomplete), r1 and r4 at 0.5 (both complete: experiment order), r5 has no cosine.
  CHECK(order(ranking) == std::vector<std::string>{"r2", "r3", "r1", "r4", "r5"});
}

TEST_CASE("an incomplete run is ranked by the mean of its per-image scores so far") {
  Store s;
  const Ranking ranking = rank_runs(s.store, "cosine");
  const RankedRun& r3 = row(ranking, "r3");
  CHECK_FALSE(r3.complete());
  CHECK(r3.images_done == 1);
  CHECK(r3.images_total == 2);
  CHECK(r3.images_scored == 1);
  CHECK(r3.metrics.at("cosine") == doctest::Approx(0.7));
  CHECK(row(ranking, "r1").complete());
  CHECK(row(ranking, "r1").images_per_second == doctest::Approx(4.0));  // 2 images in 2 x 0.25 s
}

TEST_CASE("missing metrics: runs without the ranking metric go last, the complete ones first") {
  Store s;
  const Ranking ranking = rank_runs(s.store, "bleu4");
  CHECK(order(ranking) == std::vector<std::string>{"r4", "r1", "r2", "r5", "r3"});
  CHECK(row(ranking, "r5").metrics.empty());
}

TEST_CASE("the metric list: the experiment's metrics in order, then any other found") {
  Store s;
  CHECK(rank_runs(s.store).metrics == std::vector<std::string>{"cosine", "bleu4", "exact"});
}

TEST_CASE("the default metric is cosine when scored, else the first metric") {
  SUBCASE("cosine scored") {
    Store s({"bleu4", "cosine"});
    CHECK(rank_runs(s.store).by == "cosine");
  }
  SUBCASE("no cosine anywhere") {
    testing::TempDir dir;
    ResultsStore store(dir / "results.sqlite");
    store.set_meta("metrics", R"(["rouge_l", "bleu4"])");
    store.put_run({"x", 0, "", "", "{}", "{}"});
    store.put_run_metric({"x", "bleu4", 0.5, 1});
    CHECK(rank_runs(store).by == "rouge_l");
  }
  SUBCASE("nothing scored at all") {
    testing::TempDir dir;
    ResultsStore empty(dir / "results.sqlite");
    const Ranking ranking = rank_runs(empty);
    CHECK(ranking.by.empty());
    CHECK(ranking.runs.empty());
  }
}

TEST_CASE("an unknown metric is a usage error naming it and what was scored") {
  Store s;
  CHECK_THROWS_WITH_AS(rank_runs(s.store, "cider"), doctest::Contains("--metric cider"), UsageError);
  CHECK_THROWS_WITH_AS(rank_runs(s.store, "cider"), doctest::Contains("\"cosine\",\"bleu4\""), UsageError);
}

TEST_CASE("best_complete_run: the best complete run with the metric, or none") {
  Store s;
  CHECK(best_complete_run(s.store, "cosine") == "r2");
  CHECK(best_complete_run(s.store, "bleu4") == "r4");
  CHECK(best_complete_run(s.store, "exact") == "r4");
  CHECK(best_complete_run(s.store, "cider").empty());
}
