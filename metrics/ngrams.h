#pragma once
// Captions as pycocoevalcap's `precook` sees them: words = caption.split() (any
// run of whitespace), and the count of every n-gram of order 1..max_order. N-grams
// are interned to integer ids so that BLEU and CIDEr-D over thousands of captions
// compare integers, not strings.
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace capbench {

// Python's str.split() on ASCII whitespace.
std::vector<std::string_view> split_whitespace(std::string_view text);

// Ids 0..size()-1 for the n-grams of every order seen so far. An n-gram is its
// (n-1)-gram prefix followed by one word, so each id costs one integer lookup.
class NgramIndex {
 public:
  static constexpr uint32_t kEmpty = 0xFFFFFFFF;  // the prefix of a unigram

  uint32_t word(std::string_view text);
  // The id of n-gram `prefix` (kEmpty: none) followed by word id `word`.
  uint32_t extend(uint32_t prefix, uint32_t word);
  size_t size() const { return ids_.size(); }

 private:
  std::deque<std::string> words_;  // owns the text word_ids_ points to (a deque never moves it)
  std::unordered_map<std::string_view, uint32_t> word_ids_;
  std::unordered_map<uint64_t, uint32_t> ids_;  // (prefix << 32 | word) -> n-gram id
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
