#include "metrics/metrics.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <optional>

#include "core/error.h"
#include "metrics/bleu.h"
#include "metrics/cider.h"
#include "metrics/cosine.h"
#include "metrics/metric_inputs.h"
#include "metrics/ngrams.h"
#include "metrics/ptb_tokenize.h"
#include "metrics/rouge.h"

namespace capbench {

namespace {

std::string joined(const std::vector<std::string>& names) {
  std::string all;
  for (const std::string& name : names) all += (all.empty() ? "" : ", ") + name;
  return all;
}

EmbeddingRows to_rows(const at::Tensor& embeddings, size_t expected_rows) {
  at::Tensor cpu = embeddings.to(at::kCPU, at::kFloat).contiguous();
  if (cpu.dim() != 2 || cpu.size(0) != static_cast<int64_t>(expected_rows))
    throw Error("cosine: the embedder returned " + std::to_string(cpu.dim() == 2 ? cpu.size(0) : -1) +
                " rows for " + std::to_string(expected_rows) + " texts");
  return Eigen::Map<const EmbeddingRows>(cpu.data_ptr<float>(), cpu.size(0), cpu.size(1));
}

std::vector<double> cosine_scores(const std::vector<std::string>& predictions,
                                  const std::vector<std::vector<std::string>>& references,
                                  SentenceEmbedder& embedder) {
  std::vector<std::string> flat;
  std::vector<size_t> offsets{0};
  for (const auto& list : references) {
    flat.insert(flat.end(), list.begin(), list.end());
    offsets.push_back(flat.size());
  }
  const EmbeddingRows predicted = to_rows(embedder.embed(predictions), predictions.size());
  const EmbeddingRows truth = to_rows(embedder.embed(flat), flat.size());
  return cosine_per_image(predicted, truth, offsets);
}

// 1 when the prediction equals one of the references after PTB normalisation
// (case, punctuation and spacing ignored), else 0.
std::vector<double> exact_match_scores(const std::vector<std::string>& predictions,
                                       const std::vector<std::vector<std::string>>& references) {
  std::vector<double> scores;
  for (size_t i = 0; i < predictions.size(); ++i) {
    const std::string p = ptb_tokenize(predictions[i]);
    bool match = std::any_of(references[i].begin(), references[i].end(),
                             [&](const std::string& r) { return ptb_tokenize(r) == p; });
    scores.push_back(match ? 1.0 : 0.0);
  }
  return scores;
}

}  // namespace

const std::vector<std::string>& known_metrics() {
  static const std::vector<std::string> names = {"cosine", "bleu1",   "bleu2", "bleu3",
                                                 "bleu4",  "rouge_l", "cider", "exact_match"};
  return names;
}

std::vector<MetricScores> compute_metrics(const std::vector<std::string>& metrics,
                                          const std::vector<std::string>& predictions,
                                          const std::vector<std::vector<std::string>>& references,
                                          SentenceEmbedder* embedder) {
  const auto& known = known_metrics();
  for (const std::string& name : metrics)
    if (std::find(known.begin(), known.end(), name) == known.end())
      throw Error("unknown metric '" + name + "' (known: " + joined(known) + ")");
  check_metric_inputs(predictions, references);

  // pycocoevalcap scores PTB-tokenised text; tokenise once for all text metrics.
  std::vector<std::string> tokenised_predictions;
  std::vector<std::vector<std::string>> tokenised_references;
  auto tokenised = [&] {
    if (tokenised_predictions.empty() && !predictions.empty()) {
      for (const std::string& p : predictions) tokenised_predictions.push_back(ptb_tokenize(p));
      for (const auto& list : references) {
        tokenised_references.emplace_back();
        for (const std::string& r : list) tokenised_references.back().push_back(ptb_tokenize(r));
      }
    }
  };
  std::optional<BleuScores> bleu;

  std::vector<MetricScores> results;
  for (const std::string& name : metrics) {
    MetricScores scores{name, 0, {}};
    if (name == "cosine") {
      if (!embedder) throw Error("the cosine metric needs a sentence embedder (a scorer model)");
      scores.per_image = cosine_scores(predictions, references, *embedder);
      scores.corpus = numpy_mean(scores.per_image);
    } else if (name.rfind("bleu", 0) == 0) {
      tokenised();
      if (!bleu) bleu = bleu_scores(tokenised_predictions, tokenised_references);
      const size_t order = static_cast<size_t>(name[4] - '1');
      scores.corpus = bleu->corpus[order];
      scores.per_image = bleu->per_image[order];
    } else if (name == "rouge_l") {
      tokenised();
      RougeScores rouge = rouge_l_scores(tokenised_predictions, tokenised_references);
      scores.corpus = rouge.corpus;
      scores.per_image = std::move(rouge.per_image);
    } else if (name == "cider") {
      tokenised();
      CiderScores cider = cider_d_scores(tokenised_predictions, tokenised_references);
      scores.corpus = cider.corpus;
      scores.per_image = std::move(cider.per_image);
    } else {
      scores.per_image = exact_match_scores(predictions, references);
      scores.corpus = numpy_mean(scores.per_image);
    }
    results.push_back(std::move(scores));
  }
  return results;
}

}  // namespace capbench
