#pragma once
// Byte-level BPE as GPT2Tokenizer (GPT-2, OPT) and RobertaTokenizer do it:
// vocab.json + merges.txt, or a tokenizer.json with a byte-level BPE model.
#include <filesystem>
#include <memory>
#include <mutex>

#include "core/tokenizers/bpe_model.h"
#include "core/tokenizers/gpt2_pretokenizer.h"
#include "core/tokenizers/pretrained_tokenizer.h"

namespace capbench {

class BpeTokenizer : public PretrainedTokenizer {
 public:
  explicit BpeTokenizer(const TokenizerConfig& config);

 protected:
  void tokenize_piece(std::string_view text, std::vector<int64_t>& ids) const override;
  std::string prepare_text(std::string_view text) const override;
  std::optional<int64_t> vocab_id(std::string_view token) const override;
  int64_t base_vocab_size() const override { return static_cast<int64_t>(vocab_.size()); }
  std::optional<std::string> id_to_token(int64_t id) const override;
  std::string tokens_to_string(std::vector<std::string> tokens) const override;
  std::vector<int64_t> add_special_tokens(std::vector<int64_t> ids) const override;
  size_t num_special_tokens_to_add() const override;

 private:
  enum class Framing { gpt2, roberta };  // GPT2Tokenizer's optional BOS, or RoBERTa's <s> ... </s>
  void load(const std::filesystem::path& folder);

  Framing framing_ = Framing::gpt2;
  bool add_prefix_space_ = false;
  bool add_bos_token_ = false;
  std::unordered_map<std::string, int64_t> vocab_;
  std::vector<const std::string*> tokens_by_id_;  // into vocab_; null where no token has the id
  std::unique_ptr<BpeModel> model_;
  Gpt2Pretokenizer pretokenizer_;
  int64_t unk_id_ = -1;

  // Word -> ids, as GPT2Tokenizer caches them; bounded so that a stream of
  // distinct words cannot grow it without end.
  mutable std::mutex cache_mutex_;
  mutable std::unordered_map<std::string, std::vector<int64_t>> cache_;
};

}  // namespace capbench
