#include "core/tokenizers/pretrained_tokenizer.h"

#include "core/error.h"
#include "core/log.h"
#include "core/tokenizers/unicode_text.h"

namespace capbench {

namespace {

void replace_all(std::string& text, std::string_view from, std::string_view to) {
  if (text.find(from) == std::string::npos) return;
  std::string out;
  out.reserve(text.size());
  size_t pos = 0;
  for (size_t hit; (hit = text.find(from, pos)) != std::string::npos; pos = hit + from.size()) {
    out.append(text, pos, hit - pos);
    out.append(to);
  }
  out.append(text, pos, std::string::npos);
  text = std::move(out);
}

}  // namespace

std::string clean_up_tokenization(std::string text) {
  static constexpr std::pair<std::string_view, std::string_view> kRules[] = {
      {" .", "."},     {" ?", "?"},     {" !", "!"},     {" ,", ","},     {" ' ", "'"},
      {" n't", "n't"}, {" 'm", "'m"},   {" 's", "'s"},   {" 've", "'ve"}, {" 're", "'re"}};
  for (const auto& [from, to] : kRules) replace_all(text, from, to);
  return text;
}

void PretrainedTokenizer::set_up_tokens(const TokenizerConfig& config,
                                        const std::map<std::string, const char*>& class_defaults,
                                        std::vector<AddedToken> class_additional,
                                        std::map<int64_t, AddedToken> class_added) {
  clean_up_tokenization_spaces_ = config.get_bool("clean_up_tokenization_spaces", true);
  padding_side_ = config.get_string("padding_side", padding_side_);
  if (padding_side_ != "left" && padding_side_ != "right")
    throw Error((config.folder / "tokenizer_config.json").string() + ": padding_side must be \"left\" or \"right\"");

  added_decoder_ = std::move(class_added);
  for (const auto& [id, token] : config.added_tokens_decoder) added_decoder_[id] = token;
  for (const auto& [id, token] : added_decoder_) added_encoder_[token.content] = id;

  // all_special_tokens_extended: the attributes in order, then the additional ones.
  std::vector<std::pair<std::string, AddedToken>> specials;
  for (const char* attribute : kSpecialTokenAttributes) {
    auto found = class_defaults.find(attribute);
    auto token = config.special_token(attribute, found == class_defaults.end() ? nullptr : found->second);
    if (token) specials.emplace_back(attribute, *token);
  }
  std::vector<AddedToken> additional = config.additional_special_tokens();
  for (const auto& token : class_additional) {
    bool present = false;
    for (const auto& existing : additional) present |= existing.content == token.content;
    if (!present) additional.push_back(token);
  }
  for (const auto& token : additional) specials.emplace_back("additional_special_tokens", token);

  // Special tokens the folder did not list as added tokens are added now, with
  // the vocabulary's id or a new one after the vocabulary (_add_tokens).
  int64_t next_id = base_vocab_size();
  for (const auto& [id, token] : added_decoder_)
    if (!vocab_id(token.content)) next_id = std::max(next_id, id + 1);
  for (auto& [attribute, token] : specials) {
    if (special_token_set_.insert(token.content).second) all_special_tokens_.push_back(token.content);
    if (token.content.empty() || added_encoder_.count(token.content)) continue;
    AddedToken added = token;
    added.special = true;
    const auto existing = vocab_id(added.content);
    const int64_t id = existing ? *existing : next_id++;
    added_decoder_[id] = added;
    added_encoder_[added.content] = id;
  }
  for (const auto& [id, token] : added_decoder_) splitter_.add(id, token);

  for (const auto& [attribute, token] : specials) {
    const int64_t id = token_to_id(token.content);
    special_ids_.insert(id);
    if (attribute == "bos_token") special_.bos = id;
    if (attribute == "eos_token") special_.eos = id;
    if (attribute == "unk_token") special_.unk = id;
    if (attribute == "sep_token") special_.sep = id;
    if (attribute == "pad_token") special_.pad = id;
    if (attribute == "cls_token") special_.cls = id;
    if (attribute == "unk_token") unk_token_ = token.content;
  }
  // Added tokens that decode apart from the model's own pieces (_decode's
  // legacy_added_tokens): non-special ones, and additional special tokens
  // beyond the vocabulary.
  for (const auto& [content, id] : added_encoder_)
    if (!special_token_set_.count(content)) legacy_added_tokens_.insert(content);
  for (const auto& token : additional)
    if (token_to_id(token.content) >= base_vocab_size()) legacy_added_tokens_.insert(token.content);
}

int64_t PretrainedTokenizer::token_to_id(std::string_view token) const {
  if (auto it = added_encoder_.find(std::string(token)); it != added_encoder_.end()) return it->second;
  if (auto id = vocab_id(token)) return *id;
  if (unk_token_) {
    if (auto it = added_encoder_.find(*unk_token_); it != added_encoder_.end()) return it->second;
    if (auto id = vocab_id(*unk_token_)) return *id;
  }
  return -1;
}

int64_t PretrainedTokenizer::vocab_size() const {
  int64_t size = base_vocab_size();
  for (const auto& [id, token] : added_decoder_)
    if (id >= base_vocab_size()) ++size;
  return size;
}

std::vector<int64_t> PretrainedTokenizer::tokenize(std::string_view text) const {
  std::vector<int64_t> ids;
  for (const TextPiece& piece : splitter_.split(prepare_text(text))) {
    if (piece.added_id >= 0)
      ids.push_back(piece.added_id);
    else
      tokenize_piece(piece.text, ids);
  }
  return ids;
}

std::vector<int64_t> PretrainedTokenizer::encode(std::string_view text, bool add_special, int64_t max_length) const {
  unicode::require_valid_utf8(text, "text to tokenize");
  std::vector<int64_t> ids = tokenize(text);
  if (max_length > 0) {
    const size_t total = ids.size() + (add_special ? num_special_tokens_to_add() : 0);
    if (total > static_cast<size_t>(max_length)) {
      const size_t remove = total - static_cast<size_t>(max_length);
      if (ids.size() > remove)
        ids.resize(ids.size() - remove);
      else  // transformers logs this and leaves the sequence as it is
        log::error("cannot truncate {} tokens to max_length {}: the special tokens alone need {}", ids.size(),
                   max_length, num_special_tokens_to_add());
    }
  }
  return add_special ? add_special_tokens(std::move(ids)) : ids;
}

std::string PretrainedTokenizer::decode(const std::vector<int64_t>& ids, bool skip_special_tokens) const {
  std::vector<std::string> sub_texts, current;
  size_t unknown = 0;
  for (int64_t id : ids) {
    if (skip_special_tokens && special_ids_.count(id)) continue;
    std::string token;
    if (auto it = added_decoder_.find(id); it != added_decoder_.end()) {
      token = it->second.content;
    } else if (auto known = id_to_token(id)) {
      token = std::move(*known);
    } else {
      ++unknown;
      continue;
    }
    if (legacy_added_tokens_.count(token)) {
      if (!current.empty()) {
        std::string text = tokens_to_string(std::move(current));
        if (!text.empty()) sub_texts.push_back(std::move(text));
        current.clear();
      }
      sub_texts.push_back(std::move(token));
    } else {
      current.push_back(std::move(token));
    }
  }
  if (!current.empty()) sub_texts.push_back(tokens_to_string(std::move(current)));
  if (unknown > 0)
    log::warn("decode: {} id(s) outside the tokenizer's vocabulary of {} decode to nothing", unknown, vocab_size());
  std::string text;
  for (size_t i = 0; i < sub_texts.size(); ++i) {
    if (i > 0) text += ' ';
    text += sub_texts[i];
  }
  return clean_up_tokenization_spaces_ ? clean_up_tokenization(std::move(text)) : text;
}

}  // namespace capbench
