#include "app/report/score_summary.h"

#include <doctest/doctest.h>

using namespace capbench::report;

// Expected values: numpy 1.24 (np.mean, np.std(ddof=1) / sqrt(n) * 1.96, np.quantile's default "linear").
TEST_CASE("summarize: mean, 95 % interval of the mean and quartiles as numpy computes them") {
  ScoreSummary s = summarize({4, 1, 3, 2});
  CHECK(s.n == 4);
  CHECK(s.mean == doctest::Approx(2.5));
  CHECK(s.low == doctest::Approx(1.2348255).epsilon(1e-7));
  CHECK(s.high == doctest::Approx(3.7651745).epsilon(1e-7));
  CHECK(s.q1 == doctest::Approx(1.75));
  CHECK(s.median == doctest::Approx(2.5));
  CHECK(s.q3 == doctest::Approx(3.25));
}

TEST_CASE("summarize: one value has no interval; none gives zeros") {
  ScoreSummary one = summarize({0.7});
  CHECK(one.n == 1);
  CHECK(one.low == one.mean);
  CHECK(one.high == one.mean);
  CHECK(one.q1 == doctest::Approx(0.7));
  ScoreSummary none = summarize({});
  CHECK(none.n == 0);
  CHECK(none.mean == 0);
}

TEST_CASE("quantile interpolates between order statistics") {
  CHECK(quantile({0, 10}, 0.05) == doctest::Approx(0.5));
  CHECK(quantile({0, 10, 20}, 0.95) == doctest::Approx(19));
  CHECK(quantile({}, 0.5) == 0);
}
