#pragma once
// What transformers' slow tokenizers (PreTrainedTokenizer) share, whatever the
// model: added and special tokens, splitting the text at them, truncation,
// decoding with skip_special_tokens and clean_up_tokenization_spaces. A model's
// tokenizer derives from it and supplies the vocabulary and the word pieces.
#include <map>
#include <optional>
#include <unordered_map>
#include <unordered_set>

#include "core/tokenizer.h"
#include "core/tokenizers/added_tokens.h"
#include "core/tokenizers/tokenizer_config.h"

namespace capbench {

class PretrainedTokenizer : public Tokenizer {
 public:
  std::vector<int64_t> encode(std::string_view text, bool add_special_tokens = true,
                              int64_t max_length = 0) const override;
  std::string decode(const std::vector<int64_t>& ids, bool skip_special_tokens = true) const override;
  const SpecialTokens& special_tokens() const override { return special_; }
  int64_t vocab_size() const override;
  std::string padding_side() const override { return padding_side_; }

  // convert_tokens_to_ids: added tokens, then the vocabulary, else the unknown id.
  int64_t token_to_id(std::string_view token) const;
  // Every special token (all_special_tokens), in transformers' order.
  const std::vector<std::string>& all_special_tokens() const { return all_special_tokens_; }

 protected:
  // Ids of a piece of text that holds no added token (_tokenize, then
  // convert_tokens_to_ids); appended to `ids`.
  virtual void tokenize_piece(std::string_view text, std::vector<int64_t>& ids) const = 0;
  // prepare_for_tokenization: the text as the added-token split sees it.
  virtual std::string prepare_text(std::string_view text) const { return std::string(text); }
  // tokenize() followed by convert_tokens_to_ids.
  virtual std::vector<int64_t> tokenize(std::string_view text) const;
  // The id of `token` in the model's own vocabulary, if it has one.
  virtual std::optional<int64_t> vocab_id(std::string_view token) const = 0;
  // Size of the model's own vocabulary (transformers' `vocab_size`).
  virtual int64_t base_vocab_size() const = 0;
  // _convert_id_to_token for an id that is not an added token; nullopt when
  // the vocabulary has no such id.
  virtual std::optional<std::string> id_to_token(int64_t id) const = 0;
  // convert_tokens_to_string.
  virtual std::string tokens_to_string(std::vector<std::string> tokens) const = 0;
  // build_inputs_with_special_tokens for one sequence, and how many it adds.
  virtual std::vector<int64_t> add_special_tokens(std::vector<int64_t> ids) const = 0;
  virtual size_t num_special_tokens_to_add() const = 0;

  // Builds the added and special tokens as transformers does at init; called by
  // the subclass once its vocabulary is loaded. `class_defaults` maps special
  // attributes to the class's default tokens; `class_added` holds tokens the
  // class adds itself before the folder's (T5's <extra_id_N>).
  void set_up_tokens(const TokenizerConfig& config, const std::map<std::string, const char*>& class_defaults,
                     std::vector<AddedToken> class_additional = {}, std::map<int64_t, AddedToken> class_added = {});

  std::vector<TextPiece> split_at_added_tokens(std::string_view text) const { return splitter_.split(text); }
  bool is_special_token(const std::string& token) const { return special_token_set_.count(token) > 0; }
  bool is_added_token(int64_t id) const { return added_decoder_.count(id) > 0; }

  SpecialTokens special_;
  std::string padding_side_ = "right";
  bool clean_up_tokenization_spaces_ = true;
  std::optional<std::string> unk_token_;

 private:
  std::map<int64_t, AddedToken> added_decoder_;
  std::unordered_map<std::string, int64_t> added_encoder_;
  AddedTokenSplitter splitter_;
  std::vector<std::string> all_special_tokens_;
  std::unordered_set<std::string> special_token_set_;
  std::unordered_set<int64_t> special_ids_;
  std::unordered_set<std::string> legacy_added_tokens_;
};

// transformers' clean_up_tokenization: removes the spaces a join put before
// punctuation and English contractions.
std::string clean_up_tokenization(std::string text);

}  // namespace capbench
