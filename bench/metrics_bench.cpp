// Time to score 16,000 predictions (the size of a large competition
// validation set): PTB tokenisation + BLEU-1..4 + ROUGE-L + CIDEr-D through
// compute_metrics, and the cosine metric from precomputed 384-d embeddings.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "metrics/bleu.h"
#include "metrics/cider.h"
#include "metrics/cosine.h"
#include "metrics/metrics.h"
#include "metrics/ptb_tokenize.h"
#include "metrics/rouge.h"

namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Prompt-like texts: 20-60 words from a 3,000-word vocabulary with Zipf-like
// frequencies, commas between phrases.
std::string random_prompt(std::mt19937_64& rng, const std::vector<std::string>& words) {
  std::uniform_int_distribution<int> length(20, 60);
  std::uniform_real_distribution<double> u(0, 1);
  std::string text;
  for (int n = length(rng), i = 0; i < n; ++i) {
    const auto index = static_cast<size_t>(std::pow(u(rng), 3) * static_cast<double>(words.size()));
    text += (i ? (i % 7 == 0 ? ", " : " ") : "") + words[index];
  }
  return text;
}

}  // namespace

int main(int argc, char** argv) {
  const size_t count = argc > 1 ? std::stoul(argv[1]) : 16000;
  std::mt19937_64 rng(7);
  std::vector<std::string> words;
  for (int i = 0; i < 3000; ++i) words.push_back("w" + std::to_string(i));
  std::vector<std::string> predictions;
  std::vector<std::vector<std::string>> references;
  for (size_t i = 0; i < count; ++i) {
    predictions.push_back(random_prompt(rng, words));
    references.push_back({random_prompt(rng, words)});
  }
  std::printf("metrics_bench: %zu predictions, 1 reference each, 20-60 words\n", count);

  auto start = std::chrono::steady_clock::now();
  std::vector<std::string> tokenised_predictions;
  std::vector<std::vector<std::string>> tokenised_references;
  for (size_t i = 0; i < count; ++i) {
    tokenised_predictions.push_back(capbench::ptb_tokenize(predictions[i]));
    tokenised_references.push_back({capbench::ptb_tokenize(references[i][0])});
  }
  std::printf("  ptb_tokenize   %8.3f s\n", seconds_since(start));
  start = std::chrono::steady_clock::now();
  capbench::bleu_scores(tokenised_predictions, tokenised_references);
  std::printf("  bleu1..4       %8.3f s\n", seconds_since(start));
  start = std::chrono::steady_clock::now();
  capbench::rouge_l_scores(tokenised_predictions, tokenised_references);
  std::printf("  rouge_l        %8.3f s\n", seconds_since(start));
  start = std::chrono::steady_clock::now();
  capbench::cider_d_scores(tokenised_predictions, tokenised_references);
  std::printf("  cider_d        %8.3f s\n", seconds_since(start));
  start = std::chrono::steady_clock::now();
  capbench::compute_metrics({"bleu1", "bleu2", "bleu3", "bleu4", "rouge_l", "cider", "exact_match"}, predictions,
                            references, nullptr);
  std::printf("  compute_metrics (all text metrics, tokenising included) %8.3f s\n", seconds_since(start));

  std::normal_distribution<float> normal;
  capbench::EmbeddingRows predicted(count, 384), truth(count, 384);
  for (Eigen::Index r = 0; r < predicted.rows(); ++r)
    for (Eigen::Index c = 0; c < 384; ++c) {
      predicted(r, c) = normal(rng);
      truth(r, c) = normal(rng);
    }
  std::vector<size_t> offsets(count + 1);
  for (size_t i = 0; i <= count; ++i) offsets[i] = i;
  start = std::chrono::steady_clock::now();
  capbench::cosine_per_image(predicted, truth, offsets);
  std::printf("  cosine (precomputed 384-d embeddings) %8.3f s\n", seconds_since(start));
  return 0;
}
