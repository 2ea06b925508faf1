#include "metrics/bleu.h"

#include <cmath>
#include <cstdlib>
#include <unordered_map>

#include "core/error.h"
#include "metrics/metric_inputs.h"
#include "metrics/ngrams.h"

namespace capbench {

namespace {

constexpr size_t kOrders = 4;
constexpr double kTiny = 1e-15;  // bleu_scorer.py's `tiny` and `small`
constexpr double kSmall = 1e-9;

struct BleuCounts {
  double test_length = 0, reference_length = 0;
  std::array<double, kOrders> guess{}, correct{};
};

// BleuScorer.compute_score's formula for one set of counts.
std::array<double, kOrders> bleu_from_counts(const BleuCounts& c) {
  std::array<double, kOrders> scores{};
  double product = 1.;
  for (size_t k = 0; k < kOrders; ++k) {
    product *= (c.correct[k] + kTiny) / (c.guess[k] + kSmall);
    scores[k] = std::pow(product, 1. / static_cast<double>(k + 1));
  }
  const double ratio = (c.test_length + kTiny) / (c.reference_length + kSmall);
  if (ratio < 1)
    for (double& score : scores) score *= std::exp(1 - 1 / ratio);
  return scores;
}

}  // namespace

BleuScores bleu_scores(const std::vector<std::string>& predictions,
                       const std::vector<std::vector<std::string>>& references) {
  check_metric_inputs(predictions, references);
  NgramIndex index;
  BleuScores result;
  BleuCounts total;
  for (size_t i = 0; i < predictions.size(); ++i) {
    // cook_refs: the maximum count of each n-gram in any one reference.
    std::unordered_map<uint32_t, int64_t> max_count;
    std::vector<int64_t> lengths;
    for (const std::string& reference : references[i]) {
      NgramCounts counts = count_ngrams(reference, kOrders, index);
      lengths.push_back(counts.words);
      for (const auto& order : counts.by_order)
        for (const auto& [id, count] : order) {
          int64_t& best = max_count[id];
          best = std::max(best, count);
        }
    }
    // cook_test, and _single_reflen("closest"): nearest length, ties to the shorter.
    const NgramCounts test = count_ngrams(predictions[i], kOrders, index);
    int64_t closest = lengths.front();
    for (int64_t length : lengths) {
      const int64_t d = std::llabs(length - test.words), best = std::llabs(closest - test.words);
      if (d < best || (d == best && length < closest)) closest = length;
    }
    BleuCounts counts;
    counts.test_length = static_cast<double>(test.words);
    counts.reference_length = static_cast<double>(closest);
    for (size_t k = 0; k < kOrders; ++k) {
      counts.guess[k] = static_cast<double>(std::max<int64_t>(0, test.words - static_cast<int64_t>(k)));
      int64_t correct = 0;
      for (const auto& [id, count] : test.by_order[k]) {
        auto it = max_count.find(id);
        if (it != max_count.end()) correct += std::min(it->second, count);
      }
      counts.correct[k] = static_cast<double>(correct);
      total.guess[k] += counts.guess[k];
      total.correct[k] += counts.correct[k];
    }
    total.test_length += counts.test_length;
    total.reference_length += counts.reference_length;
    const std::array<double, kOrders> image = bleu_from_counts(counts);
    for (size_t k = 0; k < kOrders; ++k) result.per_image[k].push_back(image[k]);
  }
  result.corpus = bleu_from_counts(total);
  return result;
}

}  // namespace capbench
