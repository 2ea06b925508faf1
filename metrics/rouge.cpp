#include "metrics/rouge.h"

#include <algorithm>
#include <string_view>

#include "metrics/metric_inputs.h"
#include "metrics/ngrams.h"

namespace capbench {

namespace {

constexpr double kBeta = 1.2;

// Python's text.split(" "): a single space separates, so "" gives one empty token.
std::vector<std::string_view> split_on_space(std::string_view text) {
  std::vector<std::string_view> tokens;
  size_t begin = 0;
  while (true) {
    size_t end = text.find(' ', begin);
    if (end == std::string_view::npos) {
      tokens.push_back(text.substr(begin));
      return tokens;
    }
    tokens.push_back(text.substr(begin, end - begin));
    begin = end + 1;
  }
}

size_t longest_common_subsequence(const std::vector<std::string_view>& a, const std::vector<std::string_view>& b) {
  std::vector<size_t> previous(b.size() + 1, 0), current(b.size() + 1, 0);
  for (size_t i = 1; i <= a.size(); ++i) {
    for (size_t j = 1; j <= b.size(); ++j)
      current[j] = a[i - 1] == b[j - 1] ? previous[j - 1] + 1 : std::max(previous[j], current[j - 1]);
    std::swap(previous, current);
  }
  return previous[b.size()];
}

}  // namespace

RougeScores rouge_l_scores(const std::vector<std::string>& predictions,
                           const std::vector<std::vector<std::string>>& references) {
  check_metric_inputs(predictions, references);
  RougeScores result;
  for (size_t i = 0; i < predictions.size(); ++i) {
    const std::vector<std::string_view> candidate = split_on_space(predictions[i]);
    // Rouge.calc_score: best precision and best recall, each over all references.
    double precision = 0, recall = 0;
    for (const std::string& reference : references[i]) {
      const std::vector<std::string_view> tokens = split_on_space(reference);
      const double lcs = static_cast<double>(longest_common_subsequence(tokens, candidate));
      precision = std::max(precision, lcs / static_cast<double>(candidate.size()));
      recall = std::max(recall, lcs / static_cast<double>(tokens.size()));
    }
    const double beta2 = kBeta * kBeta;
    result.per_image.push_back(precision != 0 && recall != 0
                                   ? ((1 + beta2) * precision * recall) / (recall + beta2 * precision)
                                   : 0.0);
  }
  result.corpus = numpy_mean(result.per_image);
  return result;
}

}  // namespace capbench
