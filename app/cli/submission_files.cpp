#include "app/cli/submission_files.h"

#include <map>

#include "app/leaderboard/ranking.h"
#include "core/error.h"
#include "metrics/submission.h"

namespace capbench::cli {

namespace fs = std::filesystem;

namespace {

// Rank-0 captions of `run` by image id; empty when some image has none.
std::map<std::string, std::string> complete_captions(const ResultsStore& store, const std::string& run,
                                                     const std::vector<StoredImage>& images) {
  std::map<std::string, std::string> captions;
  for (const StoredPrediction& p : store.predictions(run))
    if (p.rank == 0) captions[p.image] = p.caption;
  for (const StoredImage& image : images)
    if (!captions.count(image.id)) return {};
  return captions;
}

}  // namespace

void write_run_submission(const ResultsStore& store, const std::string& run, SentenceEmbedder& embedder,
                          const fs::path& file) {
  std::vector<StoredImage> images = store.images();
  auto captions = complete_captions(store, run, images);
  if (captions.empty() || images.empty())
    throw Error(store.file().string() + ": run " + run + " has not captioned every image yet (capbench run resumes it)");
  std::vector<std::string> ids, texts;
  for (const StoredImage& image : images) {
    ids.push_back(image.id);
    texts.push_back(captions[image.id]);
  }
  write_submission(file, ids, embedder.embed(texts));
}

std::vector<fs::path> write_run_submissions(const ResultsStore& store, SentenceEmbedder& embedder, const fs::path& dir) {
  std::vector<fs::path> written;
  std::vector<StoredImage> images = store.images();
  for (const StoredRun& run : store.runs()) {
    if (complete_captions(store, run.id, images).empty()) continue;
    fs::path file = dir / ("submission-" + run.id + ".csv");
    write_run_submission(store, run.id, embedder, file);
    written.push_back(file);
  }
  const std::string best = best_complete_run(store, "cosine");
  if (!best.empty()) {
    fs::path file = dir / "submission.csv";
    fs::copy_file(dir / ("submission-" + best + ".csv"), file, fs::copy_options::overwrite_existing);
    written.push_back(file);
  }
  return written;
}

}  // namespace capbench::cli
