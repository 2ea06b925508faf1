#pragma once
// The Kaggle "Stable Diffusion - Image to Prompts" submission file: header
// `imgId_eId,val`, then one row `<imgId>_<eId>,<value>` per image and embedding
// dimension (eId 0..D-1), images in the given order, each embedding L2-normalised.
#include <ATen/core/Tensor.h>
#include <filesystem>
#include <string>
#include <vector>

namespace capbench {

// Writes `embeddings` [N,D] (any float dtype and device) for `ids` (N of them).
// Values are the shortest decimal that reads back as the same float32. Writes
// a temporary file beside `path` and renames it. Throws Error on a size
// mismatch, an id holding ',', '"' or a line break, or a failed write.
void write_submission(const std::filesystem::path& path, const std::vector<std::string>& ids,
                      const at::Tensor& embeddings);

struct Submission {
  std::vector<std::string> ids;  // in file order
  at::Tensor embeddings;         // [N,D] float32
};

// Reads a submission file back; throws Error "<file>:<line>: ..." when rows are
// missing, out of order or not numbers.
Submission read_submission(const std::filesystem::path& path);

}  // namespace capbench
