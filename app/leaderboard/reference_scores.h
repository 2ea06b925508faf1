#pragma once
// Two rows a leaderboard shows beside the runs, so that a cosine can be read:
// the ground truth scored against itself (the ceiling, 1.0) and one generic
// prompt, "a photo", given for every image (the usual floor of the Kaggle
// competition). Both are computed by the experiment's own scorer over the
// images that have ground truth, scored as a run's captions are (the first
// reference stands for the ground-truth "caption"), and kept in the results
// database with the images and the scorer they were computed for.
#include <cstdint>
#include <string>
#include <vector>

#include "app/results_store.h"
#include "core/plugin_api.h"

namespace capbench {

inline constexpr const char* kGenericPrompt = "a photo";

struct ReferenceScore {
  std::string name;         // "ground truth", "\"a photo\""
  std::string description;  // what was scored, for a footer
  double cosine = 0;        // mean over images, like a run's cosine
  int64_t images = 0;       // images with ground truth
};

// Both rows over `images` (those without references are left out); empty when
// no image has references.
std::vector<ReferenceScore> compute_reference_scores(const std::vector<StoredImage>& images, SentenceEmbedder& embedder);

// Computes and stores the rows unless the store already holds them for its
// current images and `scorer` (the scorer's checkpoint, as the run records it).
void update_reference_scores(ResultsStore& store, SentenceEmbedder& embedder, const std::string& scorer);

// The stored rows, or none when they were computed for other images (e.g. one
// shard of a merged database) or another scorer than the store now records.
std::vector<ReferenceScore> stored_reference_scores(const ResultsStore& store);

}  // namespace capbench
