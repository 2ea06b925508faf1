#pragma once
// Kaggle submission files from a results database: the embeddings of a run's
// best captions, one row per image and dimension (metrics/submission.h).
#include <filesystem>
#include <string>
#include <vector>

#include "app/results_store.h"
#include "core/plugin_api.h"

namespace capbench::cli {

// Writes the submission of run `run` (every stored image needs its caption).
void write_run_submission(const ResultsStore& store, const std::string& run, SentenceEmbedder& embedder,
                          const std::filesystem::path& file);

// submission-<run>.csv for every complete run in `dir`, and submission.csv for
// the best of them by cosine (when scored). Returns the files written.
std::vector<std::filesystem::path> write_run_submissions(const ResultsStore& store, SentenceEmbedder& embedder,
                                                         const std::filesystem::path& dir);

}  // namespace capbench::cli
