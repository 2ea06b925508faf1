#include "metrics/ngrams.h"

#include <cstring>
#include <limits>

namespace capbench {

std::vector<std::string_view> split_whitespace(std::string_view text) {
  static constexpr std::string_view whitespace = " \t\n\v\f\r\x1c\x1d\x1e\x1f";
  std::vector<std::string_view> words;
  size_t begin = text.find_first_not_of(whitespace);
  while (begin != std::string_view::npos) {
    size_t end = text.find_first_of(whitespace, begin);
    if (end == std::string_view::npos) end = text.size();
    words.push_back(text.substr(begin, end - begin));
    begin = text.find_first_not_of(whitespace, end);
  }
  return words;
}

uint32_t NgramIndex::word(std::string_view text) {
  auto it = word_ids_.find(text);
  if (it != word_ids_.end()) return it->second;
  const std::string& stored = words_.emplace_back(text);
  return word_ids_.emplace(std::string_view(stored), static_cast<uint32_t>(word_ids_.size())).first->second;
}

uint32_t NgramIndex::extend(uint32_t prefix, uint32_t word) {
  const uint64_t key = (static_cast<uint64_t>(prefix) << 32) | word;
  return ids_.try_emplace(key, static_cast<uint32_t>(ids_.size())).first->second;
}

NgramCounts count_ngrams(std::string_view caption, size_t max_order, NgramIndex& index) {
  const std::vector<std::string_view> words = split_whitespace(caption);
  std::vector<uint32_t> word_ids;
  word_ids.reserve(words.size());
  for (std::string_view w : words) word_ids.push_back(index.word(w));
  NgramCounts counts;
  counts.words = static_cast<int64_t>(words.size());
  counts.by_order.resize(max_order);
  // prefixes[i]: the id of the n-gram of the previous order starting at word i.
  std::vector<uint32_t> prefixes(words.size(), NgramIndex::kEmpty);
  for (size_t order = 1; order <= max_order && order <= words.size(); ++order) {
    auto& list = counts.by_order[order - 1];
    std::unordered_map<uint32_t, size_t> position;
    for (size_t i = 0; i + order <= words.size(); ++i) {
      const uint32_t id = index.extend(prefixes[i], word_ids[i + order - 1]);
      prefixes[i] = id;
      auto [it, added] = position.try_emplace(id, list.size());
      if (added) list.emplace_back(id, 0);
      ++list[it->second].second;
    }
  }
  return counts;
}

namespace {

// numpy's pairwise_sum (loops_utils.h): blocks of up to 128 values summed with 8
// interleaved accumulators, larger ranges split in halves (multiples of 8).
double pairwise_sum(const double* a, size_t n) {
  if (n < 8) {
    double sum = 0.;
    for (size_t i = 0; i < n; ++i) sum += a[i];
    return sum;
  }
  if (n <= 128) {
    double r[8];
    for (size_t j = 0; j < 8; ++j) r[j] = a[j];
    size_t i = 8;
    for (; i < n - (n % 8); i += 8)
      for (size_t j = 0; j < 8; ++j) r[j] += a[i + j];
    double sum = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
    for (; i < n; ++i) sum += a[i];
    return sum;
  }
  size_t half = n / 2;
  half -= half % 8;
  return pairwise_sum(a, half) + pairwise_sum(a + half, n - half);
}

}  // namespace

double numpy_mean(const std::vector<double>& values) {
  if (values.empty()) return std::numeric_limits<double>::quiet_NaN();
  return (0. + pairwise_sum(values.data(), values.size())) / static_cast<double>(values.size());
}

}  // namespace capbench
