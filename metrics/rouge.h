#pragma once
// ROUGE-L exactly as pycocoevalcap's Rouge computes it (rouge/rouge.py):
// formula in metrics/README.md.
#include <string>
#include <vector>

namespace capbench {

struct RougeScores {
  double corpus = 0;              // numpy.mean of per_image
  std::vector<double> per_image;
};

// predictions[i] against references[i], texts already tokenised (ptb_tokenize).
RougeScores rouge_l_scores(const std::vector<std::string>& predictions,
                           const std::vector<std::vector<std::string>>& references);

}  // namespace capbench
