#pragma once
// Caption metrics: the competition's cosine similarity of sentence embeddings,
// and BLEU-1..4, ROUGE-L, CIDEr-D as pycocoevalcap defines them, exact match.
#include <string>
#include <vector>

#include "core/plugin_api.h"

namespace capbench {

struct MetricScores {
  std::string metric;               // "cosine", "bleu1".."bleu4", "rouge_l", "cider", "exact_match"
  double corpus = 0;                // the corpus-level value (as pycocoevalcap reports it)
  std::vector<double> per_image;    // one value per prediction
};

const std::vector<std::string>& known_metrics();

// predictions[i] is scored against references[i] (one or more texts). `embedder`
// is needed only for "cosine". Throws Error for an unknown metric name.
std::vector<MetricScores> compute_metrics(const std::vector<std::string>& metrics,
                                          const std::vector<std::string>& predictions,
                                          const std::vector<std::vector<std::string>>& references,
                                          SentenceEmbedder* embedder);

}  // namespace capbench
