#pragma once
// Added tokens of a Hugging Face tokenizer (special tokens, <extra_id_N>, ...):
// matched in the text before the model's own tokenizer runs, exactly as
// transformers' slow tokenizers split on them.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace capbench {

struct AddedToken {
  std::string content;
  bool lstrip = false;       // swallows the whitespace on its left
  bool rstrip = false;       // swallows the whitespace on its right
  bool single_word = false;  // only matches as a whole word
  bool normalized = true;    // (kept for completeness; slow tokenizers match it verbatim)
  bool special = false;      // skipped by decode(skip_special_tokens)
};

// transformers' Trie: splits text at the added tokens it contains, with the
// same preference among overlapping matches.
class AddedTokenTrie {
 public:
  void add(std::string_view word);
  bool empty() const { return nodes_.size() == 1; }
  std::vector<std::string_view> split(std::string_view text) const;

 private:
  struct Node {
    std::vector<std::pair<unsigned char, int>> children;  // sorted by byte
    bool end = false;
    int child(unsigned char byte) const;
  };
  std::vector<Node> nodes_ = std::vector<Node>(1);
};

// One piece of the split text: an added token (its id) or plain text.
struct TextPiece {
  std::string text;
  int64_t added_id = -1;  // >= 0 for an added token
};

// Splits at added tokens and applies their lstrip / rstrip / single_word rules
// (transformers' PreTrainedTokenizer.tokenize); empty pieces are dropped.
class AddedTokenSplitter {
 public:
  void add(int64_t id, const AddedToken& token);
  std::vector<TextPiece> split(std::string_view text) const;
  bool empty() const { return trie_.empty(); }

 private:
  AddedTokenTrie trie_;
  std::vector<std::pair<std::string, std::pair<int64_t, AddedToken>>> tokens_;  // sorted by content
  const std::pair<int64_t, AddedToken>* find(std::string_view content) const;
};

}  // namespace capbench
