#pragma once
// Byte-pair encoding of one pre-tokenised word: merges applied by rank, as
// GPT2Tokenizer.bpe does, in O(n log n) instead of its O(n^2) passes.
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace capbench {

class BpeModel {
 public:
  // `merges` in rank order (a later duplicate takes the later rank, like a
  // Python dict); `vocab` maps tokens to ids.
  BpeModel(const std::unordered_map<std::string, int64_t>& vocab,
           const std::vector<std::pair<std::string, std::string>>& merges);

  // Appends the ids of the word whose raw bytes are `word`; a resulting token
  // missing from the vocabulary becomes `unk_id`.
  void encode_word(std::string_view word, int64_t unk_id, std::vector<int64_t>& ids) const;

 private:
  struct Merge {
    int rank;
    int result;
  };
  int intern(const std::string& symbol, const std::unordered_map<std::string, int64_t>& vocab);
  static uint64_t key(int left, int right) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) | static_cast<uint32_t>(right);
  }

  std::unordered_map<std::string, int> symbol_ids_;
  std::vector<int64_t> vocab_id_of_symbol_;  // -1: not in the vocabulary
  std::unordered_map<uint64_t, Merge> merges_;
  int byte_symbol_[256];
};

}  // namespace capbench
