#pragma once
// WordPiece as BertTokenizer does it (BERT uncased, all-MiniLM-L6-v2, the
// Q-Former): vocab.txt, the basic tokenizer (clean-up, CJK split, lower-case,
// accent strip, punctuation split), then greedy longest-match with "##".
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/tokenizers/pretrained_tokenizer.h"

namespace capbench {

class WordPieceTokenizer : public PretrainedTokenizer {
 public:
  explicit WordPieceTokenizer(const TokenizerConfig& config);

 protected:
  void tokenize_piece(std::string_view text, std::vector<int64_t>& ids) const override;
  std::optional<int64_t> vocab_id(std::string_view token) const override;
  int64_t base_vocab_size() const override { return static_cast<int64_t>(vocab_.size()); }
  std::optional<std::string> id_to_token(int64_t id) const override;
  std::string tokens_to_string(std::vector<std::string> tokens) const override;
  std::vector<int64_t> add_special_tokens(std::vector<int64_t> ids) const override;
  size_t num_special_tokens_to_add() const override { return 2; }

 private:
  // BasicTokenizer.tokenize: words and punctuation marks.
  std::vector<std::string> basic_tokenize(std::string_view text) const;
  // WordpieceTokenizer.tokenize of one word, as ids.
  void wordpiece(const std::string& word, std::vector<int64_t>& ids) const;

  bool do_lower_case_ = true;
  bool do_basic_tokenize_ = true;
  bool tokenize_chinese_chars_ = true;
  int strip_accents_ = -1;  // -1: unset (follows do_lower_case), 0: false, 1: true
  size_t max_input_chars_per_word_ = 100;
  std::unordered_set<std::string> never_split_;     // the folder's never_split
  std::unordered_set<std::string> basic_no_split_;  // never_split plus every special token
  std::unordered_map<std::string, int64_t> vocab_;
  std::vector<const std::string*> tokens_by_id_;
  int64_t unk_id_ = -1;
};

}  // namespace capbench
