#include "metrics/cosine.h"

#include <algorithm>

#include "core/error.h"

namespace capbench {

std::vector<double> cosine_per_image(const Eigen::Ref<const EmbeddingRows>& predictions,
                                     const Eigen::Ref<const EmbeddingRows>& references,
                                     const std::vector<size_t>& reference_offsets) {
  const auto images = static_cast<size_t>(predictions.rows());
  if (reference_offsets.size() != images + 1 || reference_offsets.back() != static_cast<size_t>(references.rows()))
    throw Error("cosine: reference offsets do not match the embeddings");
  if (predictions.cols() != references.cols())
    throw Error("cosine: prediction embeddings have " + std::to_string(predictions.cols()) +
                " dimensions, reference embeddings " + std::to_string(references.cols()));
  constexpr double kEps = 1e-12;  // torch.nn.functional.normalize's default
  std::vector<double> scores(images, 0.0);
  for (size_t i = 0; i < images; ++i) {
    const Eigen::VectorXd p = predictions.row(static_cast<Eigen::Index>(i)).cast<double>().transpose();
    const Eigen::VectorXd unit_p = p / std::max(p.norm(), kEps);
    const size_t begin = reference_offsets[i], end = reference_offsets[i + 1];
    if (begin >= end) throw Error("cosine: image " + std::to_string(i) + " has no reference embedding");
    double sum = 0;
    for (size_t r = begin; r < end; ++r) {
      const Eigen::VectorXd t = references.row(static_cast<Eigen::Index>(r)).cast<double>().transpose();
      sum += unit_p.dot(t / std::max(t.norm(), kEps));
    }
    scores[i] = sum / static_cast<double>(end - begin);
  }
  return scores;
}

}  // namespace capbench
