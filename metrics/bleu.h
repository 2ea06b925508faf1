#pragma once
// BLEU-1..4 exactly as pycocoevalcap's Bleu(4) computes it (bleu/bleu_scorer.py,
// option "closest"); formulas in metrics/README.md.
#include <array>
#include <string>
#include <vector>

namespace capbench {

struct BleuScores {
  std::array<double, 4> corpus{};               // Bleu_1..Bleu_4 from the summed counts
  std::array<std::vector<double>, 4> per_image;  // per_image[n-1][i]
};

// predictions[i] against references[i] (one or more), texts already tokenised
// (ptb_tokenize). Throws Error when the sizes differ or an image has no reference.
BleuScores bleu_scores(const std::vector<std::string>& predictions,
                       const std::vector<std::vector<std::string>>& references);

}  // namespace capbench
