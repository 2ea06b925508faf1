#pragma once
// SentencePiece as T5Tokenizer does it (T5, Flan-T5): spiece.model, </s>
// appended, pad 0, the <extra_id_N> sentinels, legacy and non-legacy modes.
#include <memory>

#include "core/tokenizers/pretrained_tokenizer.h"
#include "core/tokenizers/sentencepiece_library.h"

namespace capbench {

class SentencePieceTokenizer : public PretrainedTokenizer {
 public:
  explicit SentencePieceTokenizer(const TokenizerConfig& config);

 protected:
  std::vector<int64_t> tokenize(std::string_view text) const override;
  void tokenize_piece(std::string_view text, std::vector<int64_t>& ids) const override;
  std::optional<int64_t> vocab_id(std::string_view token) const override;
  int64_t base_vocab_size() const override { return piece_size_; }
  std::optional<std::string> id_to_token(int64_t id) const override;
  std::string tokens_to_string(std::vector<std::string> tokens) const override;
  std::vector<int64_t> add_special_tokens(std::vector<int64_t> ids) const override;
  size_t num_special_tokens_to_add() const override { return 1; }

 private:
  std::unique_ptr<SentencePieceModel> model_;
  int64_t piece_size_ = 0;
  bool legacy_ = true;
  bool add_prefix_space_ = true;
  size_t unk_token_length_ = 0;  // pieces of the unknown token's text (non-legacy encoding)
};

}  // namespace capbench
