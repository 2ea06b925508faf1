#pragma once
// The competition's score: cosine similarity of sentence embeddings.
#include <Eigen/Core>
#include <cstddef>
#include <vector>

namespace capbench {

using EmbeddingRows = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// For each image i: the mean over its references r of cos(predictions.row(i),
// references.row(r)), where image i owns reference rows
// [reference_offsets[i], reference_offsets[i+1]). Computed in double; a zero
// vector has cosine 0 with everything (each row is divided by max(norm, 1e-12)).
std::vector<double> cosine_per_image(const Eigen::Ref<const EmbeddingRows>& predictions,
                                     const Eigen::Ref<const EmbeddingRows>& references,
                                     const std::vector<size_t>& reference_offsets);

}  // namespace capbench
