#pragma once
// What the report says about a set of per-image scores: the mean with its 95 %
// interval and the quartiles.
#include <cstddef>
#include <vector>

namespace capbench::report {

struct ScoreSummary {
  size_t n = 0;
  double mean = 0;
  double low = 0, high = 0;  // 95 % interval of the mean (normal approximation); = mean when n < 2
  double q1 = 0, median = 0, q3 = 0;  // quartiles, interpolated between order statistics as numpy does
};

// Summary of `values` (n = 0 and zeros when empty).
ScoreSummary summarize(std::vector<double> values);

// The q-quantile (0..1) of sorted values, linear interpolation; 0 when empty.
double quantile(const std::vector<double>& sorted, double q);

}  // namespace capbench::report
