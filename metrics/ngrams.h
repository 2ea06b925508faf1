#pragma once
// Captions as pycocoevalcap's `precook` sees them: words = caption.split() (any
// run of whitespace), and the count of every n-gram of order 1..max_order. N-grams
// are interned to integer ids so that BLEU and CIDEr-D over thousands of captions
// compare integers, not strings.
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace capbench {

// Python's str.split() on ASCII whitespace.
std::vector<std::string_view> split_whitespace(std::string_view text);

class NgramIndex {
 public:
  uint32_t id(const std::vector<std::string_view>& words, size_t begin, size_t order);
  size_t size() const { return ids_.size(); }

 private:
  std::unordered_map<std::string, uint32_t> word_ids_;
  std::unordered_map<std::string, uint32_t> ids_;  // key: the words' ids, 4 bytes each
};

struct NgramCounts {
  int64_t words = 0;
  // by_order[n-1]: (n-gram id, count) in order of first occurrence, as Python's
  // dict in precook iterates them.
  std::vector<std::vector<std::pair<uint32_t, int64_t>>> by_order;
};

NgramCounts count_ngrams(std::string_view caption, size_t max_order, NgramIndex& index);

// numpy.mean of a float64 array: numpy's pairwise summation, then / n. NaN for no values.
double numpy_mean(const std::vector<double>& values);

}  // namespace capbench
