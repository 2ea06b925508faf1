#include "app/leaderboard/reference_scores.h"

#include <ATen/ATen.h>

#include <cstdio>
#include <nlohmann/json.hpp>

#include "app/experiment/run_id.h"
#include "core/error.h"
#include "metrics/cosine.h"

namespace capbench {

namespace {

constexpr const char* kMetaKey = "reference_scores";

EmbeddingRows rows_of(const at::Tensor& embeddings) {
  const at::Tensor cpu = embeddings.to(at::kCPU, at::kFloat).contiguous();
  return Eigen::Map<const EmbeddingRows>(cpu.data_ptr<float>(), cpu.size(0), cpu.size(1));
}

double mean(const std::vector<double>& values) {
  double sum = 0;
  for (double v : values) sum += v;
  return sum / static_cast<double>(values.size());
}

// Identifies the scored images and their ground truth: rows stored for other
// images (another shard, an edited prompts file) are not shown.
std::string images_key(const std::vector<StoredImage>& images) {
  std::string text;
  for (const StoredImage& image : images) {
    if (image.references.empty()) continue;
    text += image.id;
    for (const std::string& reference : image.references) text += '\x1f' + reference;
    text += '\n';
  }
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(fnv1a64(text)));
  return hex;
}

}  // namespace

std::vector<ReferenceScore> compute_reference_scores(const std::vector<StoredImage>& images, SentenceEmbedder& embedder) {
  std::vector<std::string> references;
  std::vector<size_t> offsets{0};
  for (const StoredImage& image : images) {
    if (image.references.empty()) continue;
    references.insert(references.end(), image.references.begin(), image.references.end());
    offsets.push_back(references.size());
  }
  const size_t count = offsets.size() - 1;
  if (count == 0) return {};
  const EmbeddingRows truth = rows_of(embedder.embed(references));
  if (static_cast<size_t>(truth.rows()) != references.size())
    throw Error("reference scores: the scorer returned " + std::to_string(truth.rows()) + " embeddings for " +
                std::to_string(references.size()) + " texts");
  EmbeddingRows first(count, truth.cols());
  for (size_t i = 0; i < count; ++i) first.row(static_cast<Eigen::Index>(i)) = truth.row(static_cast<Eigen::Index>(offsets[i]));
  const EmbeddingRows generic = rows_of(embedder.embed({kGenericPrompt})).row(0).replicate(static_cast<Eigen::Index>(count), 1);
  const auto n = static_cast<int64_t>(count);
  return {{"ground truth", "each image's first ground-truth prompt scored as its caption (the ceiling)",
           mean(cosine_per_image(first, truth, offsets)), n},
          {std::string("\"") + kGenericPrompt + "\"", std::string("the caption \"") + kGenericPrompt +
               "\" for every image (the usual Kaggle floor)",
           mean(cosine_per_image(generic, truth, offsets)), n}};
}

void update_reference_scores(ResultsStore& store, SentenceEmbedder& embedder, const std::string& scorer) {
  const std::vector<StoredImage> images = store.images();
  const std::string key = images_key(images);
  if (auto stored = store.meta(kMetaKey)) {
    const nlohmann::json json = nlohmann::json::parse(*stored, nullptr, false);
    if (json.is_object() && json.value("images_key", "") == key && json.value("scorer", "") == scorer) return;
  }
  nlohmann::json rows = nlohmann::json::array();
  for (const ReferenceScore& r : compute_reference_scores(images, embedder))
    rows.push_back({{"name", r.name}, {"description", r.description}, {"cosine", r.cosine}, {"images", r.images}});
  store.set_meta(kMetaKey, nlohmann::json{{"images_key", key}, {"scorer", scorer}, {"rows", rows}}.dump());
}

std::vector<ReferenceScore> stored_reference_scores(const ResultsStore& store) {
  const auto stored = store.meta(kMetaKey);
  if (!stored) return {};
  const nlohmann::json json = nlohmann::json::parse(*stored, nullptr, false);
  if (!json.is_object() || json.value("images_key", "") != images_key(store.images())) return {};
  if (auto scorer = store.meta("scorer_checkpoint"); scorer && json.value("scorer", "") != *scorer) return {};
  std::vector<ReferenceScore> rows;
  for (const nlohmann::json& row : json.value("rows", nlohmann::json::array()))
    rows.push_back({row.value("name", ""), row.value("description", ""), row.value("cosine", 0.0),
                    row.value("images", int64_t{0})});
  return rows;
}

}  // namespace capbench
