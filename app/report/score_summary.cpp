#include "app/report/score_summary.h"

#include <algorithm>
#include <cmath>

namespace capbench::report {

double quantile(const std::vector<double>& sorted, double q) {
  if (sorted.empty()) return 0;
  const double position = q * static_cast<double>(sorted.size() - 1);
  const auto below = static_cast<size_t>(std::floor(position));
  const size_t above = std::min(below + 1, sorted.size() - 1);
  return sorted[below] + (sorted[above] - sorted[below]) * (position - static_cast<double>(below));
}

ScoreSummary summarize(std::vector<double> values) {
  ScoreSummary s;
  s.n = values.size();
  if (values.empty()) return s;
  std::sort(values.begin(), values.end());
  double sum = 0;
  for (double v : values) sum += v;
  s.mean = sum / static_cast<double>(s.n);
  s.low = s.high = s.mean;
  if (s.n >= 2) {
    double squares = 0;
    for (double v : values) squares += (v - s.mean) * (v - s.mean);
    const double standard_error = std::sqrt(squares / static_cast<double>(s.n - 1) / static_cast<double>(s.n));
    s.low = s.mean - 1.96 * standard_error;
    s.high = s.mean + 1.96 * standard_error;
  }
  s.q1 = quantile(values, 0.25);
  s.median = quantile(values, 0.5);
  s.q3 = quantile(values, 0.75);
  return s;
}

}  // namespace capbench::report
