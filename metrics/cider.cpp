#include "metrics/cider.h"

#include <algorithm>
#include <array>
#include <cmath>

#include "core/error.h"
#include "metrics/metric_inputs.h"
#include "metrics/ngrams.h"

namespace capbench {

namespace {

constexpr size_t kOrders = 4;
constexpr double kSigma = 6.0;
constexpr double kE = 2.718281828459045;  // numpy.e

// counts2vec: tf-idf weights per order (sorted by n-gram id for lookups), their norms, and
// the caption's "length", which pycocoevalcap counts in bigrams.
struct CaptionVector {
  std::array<std::vector<std::pair<uint32_t, double>>, kOrders> in_order;  // first-occurrence order
  std::array<std::vector<std::pair<uint32_t, double>>, kOrders> sorted;
  std::array<double, kOrders> norm{};
  double length = 0;
};

CaptionVector to_vector(const NgramCounts& counts, const std::vector<double>& log_df, double log_images) {
  CaptionVector v;
  for (size_t n = 0; n < kOrders; ++n) {
    double squares = 0;
    for (const auto& [id, count] : counts.by_order[n]) {
      const double weight = static_cast<double>(count) * (log_images - log_df[id]);
      v.in_order[n].emplace_back(id, weight);
      squares += std::pow(weight, 2);
      if (n == 1) v.length += static_cast<double>(count);
    }
    v.norm[n] = std::sqrt(squares);
    v.sorted[n] = v.in_order[n];
    std::sort(v.sorted[n].begin(), v.sorted[n].end());
  }
  return v;
}

double weight_of(const std::vector<std::pair<uint32_t, double>>& sorted, uint32_t id) {
  auto it = std::lower_bound(sorted.begin(), sorted.end(), std::make_pair(id, -HUGE_VAL));
  return it != sorted.end() && it->first == id ? it->second : 0.0;
}

// CiderScorer.sim: clipped cosine per order with the Gaussian length penalty.
std::array<double, kOrders> similarity(const CaptionVector& hyp, const CaptionVector& ref) {
  const double delta = hyp.length - ref.length;
  std::array<double, kOrders> value{};
  for (size_t n = 0; n < kOrders; ++n) {
    for (const auto& [id, weight] : hyp.in_order[n]) {
      const double reference_weight = weight_of(ref.sorted[n], id);
      value[n] += std::min(weight, reference_weight) * reference_weight;
    }
    if (hyp.norm[n] != 0 && ref.norm[n] != 0) value[n] /= hyp.norm[n] * ref.norm[n];
    value[n] *= std::pow(kE, -(delta * delta) / (2 * kSigma * kSigma));
  }
  return value;
}

}  // namespace

CiderScores cider_d_scores(const std::vector<std::string>& predictions,
                           const std::vector<std::vector<std::string>>& references) {
  check_metric_inputs(predictions, references);
  NgramIndex index;
  std::vector<std::vector<NgramCounts>> reference_counts(references.size());
  std::vector<NgramCounts> prediction_counts;
  for (size_t i = 0; i < predictions.size(); ++i) {
    for (const std::string& reference : references[i])
      reference_counts[i].push_back(count_ngrams(reference, kOrders, index));
    prediction_counts.push_back(count_ngrams(predictions[i], kOrders, index));
  }
  // compute_doc_freq: in how many images' reference sets each n-gram occurs.
  std::vector<double> df(index.size(), 0.0);
  std::vector<size_t> last_image(index.size(), SIZE_MAX);
  for (size_t i = 0; i < references.size(); ++i)
    for (const NgramCounts& counts : reference_counts[i])
      for (const auto& order : counts.by_order)
        for (const auto& entry : order)
          if (last_image[entry.first] != i) {
            last_image[entry.first] = i;
            df[entry.first] += 1;
          }
  if (std::all_of(df.begin(), df.end(), [](double d) { return d == 0; }))
    throw Error("CIDEr-D: no reference has any word (pycocoevalcap fails on this too)");
  std::vector<double> log_df(df.size());
  for (size_t g = 0; g < df.size(); ++g) log_df[g] = std::log(std::max(1.0, df[g]));
  const double log_images = std::log(static_cast<double>(references.size()));

  CiderScores result;
  for (size_t i = 0; i < predictions.size(); ++i) {
    const CaptionVector hyp = to_vector(prediction_counts[i], log_df, log_images);
    std::array<double, kOrders> score{};
    for (const NgramCounts& counts : reference_counts[i]) {
      const std::array<double, kOrders> value = similarity(hyp, to_vector(counts, log_df, log_images));
      for (size_t n = 0; n < kOrders; ++n) score[n] += value[n];
    }
    double mean = numpy_mean(std::vector<double>(score.begin(), score.end()));
    mean /= static_cast<double>(references[i].size());
    mean *= 10.0;
    result.per_image.push_back(mean);
  }
  result.corpus = numpy_mean(result.per_image);
  return result;
}

}  // namespace capbench
