#pragma once
// CIDEr-D exactly as pycocoevalcap's Cider computes it (cider/cider_scorer.py:
// n = 4, sigma = 6, document frequencies from the references of the images
// scored together); formula in metrics/README.md.
#include <string>
#include <vector>

namespace capbench {

struct CiderScores {
  double corpus = 0;              // numpy.mean of per_image
  std::vector<double> per_image;
};

// predictions[i] against references[i], texts already tokenised (ptb_tokenize).
// The scores depend on the whole set: adding an image changes every image's idf.
CiderScores cider_d_scores(const std::vector<std::string>& predictions,
                           const std::vector<std::vector<std::string>>& references);

}  // namespace capbench
