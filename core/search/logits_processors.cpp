#include "core/search/logits_processors.h"

#include <torch/torch.h>

#include <algorithm>
#include <limits>

namespace capbench::search {

namespace {

constexpr float kMinusInf = -std::numeric_limits<float>::infinity();

// CTRL's penalty: a logit already used is divided by the penalty when positive,
// multiplied when negative.
void penalise_repetitions(at::Tensor& scores, const RunningIds& running, double penalty) {
  const int64_t length = running.empty() ? 0 : static_cast<int64_t>(running.front().size());
  if (length == 0) return;
  std::vector<int64_t> flat;
  flat.reserve(running.size() * length);
  for (const auto& row : running) flat.insert(flat.end(), row.begin(), row.end());
  at::Tensor index = torch::tensor(flat, torch::kLong).view({static_cast<int64_t>(running.size()), length})
                         .to(scores.device());
  at::Tensor used = scores.gather(1, index);
  used = at::where(used < 0, used * penalty, used / penalty);
  scores.scatter_(1, index, used);
}

void ban_repeated_ngrams(at::Tensor& scores, const RunningIds& running, int64_t ngram_size) {
  std::vector<int64_t> rows, columns;
  for (size_t r = 0; r < running.size(); ++r)
    for (int64_t token : banned_ngram_tokens(running[r], ngram_size)) {
      rows.push_back(static_cast<int64_t>(r));
      columns.push_back(token);
    }
  if (rows.empty()) return;
  at::Tensor row_index = torch::tensor(rows, torch::kLong).to(scores.device());
  at::Tensor column_index = torch::tensor(columns, torch::kLong).to(scores.device());
  scores.index_put_({row_index, column_index}, kMinusInf);
}

}  // namespace

std::vector<int64_t> banned_ngram_tokens(const std::vector<int64_t>& ids, int64_t ngram_size) {
  std::vector<int64_t> banned;
  const int64_t length = static_cast<int64_t>(ids.size());
  if (ngram_size <= 0 || length + 1 < ngram_size) return banned;
  const int64_t prefix = ngram_size - 1;  // the tokens the next one would extend
  for (int64_t start = 0; start + ngram_size <= length; ++start) {
    if (std::equal(ids.begin() + start, ids.begin() + start + prefix, ids.end() - prefix))
      banned.push_back(ids[start + prefix]);
  }
  return banned;
}

void apply_logits_processors(at::Tensor& scores, const RunningIds& running, int64_t generated,
                             const SearchOptions& options) {
  if (options.repetition_penalty != 1.0) penalise_repetitions(scores, running, options.repetition_penalty);
  if (options.no_repeat_ngram_size > 0) ban_repeated_ngrams(scores, running, options.no_repeat_ngram_size);
  if (generated < options.min_new_tokens && options.eos_token_id >= 0)
    scores.select(1, options.eos_token_id).fill_(kMinusInf);
}

void apply_sampling_warpers(at::Tensor& scores, const SearchOptions& options, int64_t min_tokens_to_keep) {
  if (options.temperature != 1.0) scores.div_(options.temperature);
  if (options.top_k != 0) {
    const int64_t k = std::min(std::max(options.top_k, min_tokens_to_keep), scores.size(-1));
    at::Tensor kth = std::get<0>(scores.topk(k, -1)).narrow(-1, k - 1, 1);
    scores.masked_fill_(scores < kth, kMinusInf);
  }
  if (options.top_p < 1.0) {
    auto [sorted, order] = scores.sort(-1, /*descending=*/false);
    at::Tensor cumulative = sorted.softmax(-1).cumsum(-1);
    at::Tensor remove_sorted = cumulative <= (1.0 - options.top_p);
    remove_sorted.narrow(-1, remove_sorted.size(-1) - min_tokens_to_keep, min_tokens_to_keep).fill_(false);
    at::Tensor remove = remove_sorted.scatter(1, order, remove_sorted);
    scores.masked_fill_(remove, kMinusInf);
  }
}

}  // namespace capbench::search
