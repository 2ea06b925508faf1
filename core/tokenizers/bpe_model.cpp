#include "core/tokenizers/bpe_model.h"

#include <queue>

#include "core/error.h"
#include "core/tokenizers/byte_level.h"

namespace capbench {

BpeModel::BpeModel(const std::unordered_map<std::string, int64_t>& vocab,
                   const std::vector<std::pair<std::string, std::string>>& merges) {
  const auto& bytes = byte_level::byte_symbols();
  for (int b = 0; b < 256; ++b) byte_symbol_[b] = intern(bytes[b], vocab);
  for (size_t rank = 0; rank < merges.size(); ++rank) {
    const auto& [left, right] = merges[rank];
    if (left.empty() || right.empty()) continue;  // a malformed line keeps its rank
    const int l = intern(left, vocab), r = intern(right, vocab);
    const int result = intern(left + right, vocab);
    merges_[key(l, r)] = Merge{static_cast<int>(rank), result};
  }
}

int BpeModel::intern(const std::string& symbol, const std::unordered_map<std::string, int64_t>& vocab) {
  auto [it, inserted] = symbol_ids_.emplace(symbol, static_cast<int>(vocab_id_of_symbol_.size()));
  if (inserted) {
    auto found = vocab.find(symbol);
    vocab_id_of_symbol_.push_back(found == vocab.end() ? -1 : found->second);
  }
  return it->second;
}

void BpeModel::encode_word(std::string_view word, int64_t unk_id, std::vector<int64_t>& ids) const {
  const size_t n = word.size();
  std::vector<int> symbol(n), prev(n), next(n);
  for (size_t i = 0; i < n; ++i) {
    symbol[i] = byte_symbol_[static_cast<unsigned char>(word[i])];
    prev[i] = static_cast<int>(i) - 1;
    next[i] = i + 1 < n ? static_cast<int>(i) + 1 : -1;
  }
  // A candidate merge of the symbols starting at `left` and at next[left],
  // valid while both still hold the symbols it was made for.
  struct Candidate {
    int rank, left, left_symbol, right_symbol;
    bool operator>(const Candidate& o) const { return rank != o.rank ? rank > o.rank : left > o.left; }
  };
  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<>> queue;
  const auto consider = [&](int left) {
    if (left < 0 || next[left] < 0) return;
    auto it = merges_.find(key(symbol[left], symbol[next[left]]));
    if (it != merges_.end()) queue.push({it->second.rank, left, symbol[left], symbol[next[left]]});
  };
  for (size_t i = 0; i + 1 < n; ++i) consider(static_cast<int>(i));

  // GPT2Tokenizer merges every occurrence of the best pair in one left-to-right
  // pass before looking at the pairs that pass created: candidates of one rank
  // are applied together, in position order, and their new pairs queued after.
  std::vector<int> merged_at;
  while (!queue.empty()) {
    const int rank = queue.top().rank;
    merged_at.clear();
    while (!queue.empty() && queue.top().rank == rank) {
      const Candidate c = queue.top();
      queue.pop();
      const int right = next[c.left];
      if (symbol[c.left] != c.left_symbol || right < 0 || symbol[right] != c.right_symbol) continue;
      symbol[c.left] = merges_.at(key(c.left_symbol, c.right_symbol)).result;
      symbol[right] = -1;
      next[c.left] = next[right];
      if (next[right] >= 0) prev[next[right]] = c.left;
      merged_at.push_back(c.left);
    }
    for (int left : merged_at) {
      if (symbol[left] < 0) continue;
      consider(prev[left]);
      consider(left);
    }
  }
  for (int i = n > 0 ? 0 : -1; i >= 0; i = next[i]) {
    const int64_t id = vocab_id_of_symbol_[symbol[i]];
    if (id < 0 && unk_id < 0) throw Error("BPE: a token of '" + std::string(word) + "' is not in the vocabulary, which has no unknown token");
    ids.push_back(id >= 0 ? id : unk_id);
  }
}

}  // namespace capbench
