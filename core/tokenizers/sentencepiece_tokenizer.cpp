#include "core/tokenizers/sentencepiece_tokenizer.h"

#include "core/error.h"
#include "core/log.h"
#include "core/tokenizers/unicode_text.h"

namespace capbench {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view kUnderline = "\xE2\x96\x81";  // U+2581, SentencePiece's space

bool starts_with(std::string_view text, std::string_view prefix) { return text.substr(0, prefix.size()) == prefix; }

}  // namespace

SentencePieceTokenizer::SentencePieceTokenizer(const TokenizerConfig& config) {
  const fs::path file = config.folder / "spiece.model";
  // transformers warns and takes legacy=True when the folder does not say.
  legacy_ = config.get_bool("legacy", true);
  add_prefix_space_ = config.get_bool("add_prefix_space", true);
  std::string model = read_file_bytes(file);
  if (!legacy_) model = without_dummy_prefix(model, file);
  model_ = std::make_unique<SentencePieceModel>(model, file);
  piece_size_ = model_->piece_size();

  // T5Tokenizer's own sentinels: <extra_id_i> at piece_size - 1 + extra_ids - i,
  // unless the folder lists its own additional special tokens.
  const int64_t extra_ids = config.get_int("extra_ids", 100);
  std::vector<AddedToken> additional = config.additional_special_tokens();
  std::vector<AddedToken> class_additional;
  std::map<int64_t, AddedToken> class_added;
  size_t listed_extra = 0;
  for (const auto& token : additional) listed_extra += token.content.find("<extra_id_") != std::string::npos;
  const bool folder_lists_additional =
      config.init.contains("additional_special_tokens") && !config.init["additional_special_tokens"].is_null();
  if (folder_lists_additional && listed_extra == 0) {
    for (int64_t i = 0; i < extra_ids; ++i) {
      AddedToken token;
      token.content = "<extra_id_" + std::to_string(i) + ">";
      class_additional.push_back(token);
    }
  } else {
    if (folder_lists_additional && extra_ids > 0 && static_cast<int64_t>(listed_extra) != extra_ids)
      throw Error((config.folder / "tokenizer_config.json").string() + ": " + std::to_string(extra_ids) +
                  " extra_ids but " + std::to_string(listed_extra) + " <extra_id_N> tokens listed");
    const int64_t count = folder_lists_additional ? static_cast<int64_t>(listed_extra) : extra_ids;
    for (int64_t i = 0; i < count; ++i) {
      AddedToken token;
      token.content = "<extra_id_" + std::to_string(i) + ">";
      token.lstrip = token.rstrip = true;
      token.special = true;
      token.normalized = false;
      if (!folder_lists_additional) class_additional.push_back(token);
      class_added[piece_size_ - 1 + extra_ids - i] = token;
    }
  }
  set_up_tokens(config, {{"eos_token", "</s>"}, {"unk_token", "<unk>"}, {"pad_token", "<pad>"}}, class_additional,
                class_added);
  if (unk_token_) unk_token_length_ = model_->encode(*unk_token_).size();
}

std::vector<int64_t> SentencePieceTokenizer::tokenize(std::string_view text) const {
  if (legacy_ || text.empty()) return PretrainedTokenizer::tokenize(text);
  // Non-legacy: the model lost its dummy prefix; the prefix is added here once,
  // so that text after a special token gets none.
  std::string prepared;
  if (add_prefix_space_) prepared = kUnderline;
  for (size_t pos = 0; pos < text.size();) {
    if (starts_with(text.substr(pos), kUnderline)) {
      prepared += ' ';
      pos += kUnderline.size();
    } else {
      prepared += text[pos++];
    }
  }
  std::vector<int64_t> ids;
  bool second_is_special = false;
  for (const TextPiece& piece : split_at_added_tokens(prepared)) {
    if (piece.added_id >= 0) {
      if (ids.size() == 1) second_is_special = is_special_token(piece.text);
      ids.push_back(piece.added_id);
    } else {
      tokenize_piece(piece.text, ids);
    }
  }
  const int underline = model_->piece_to_id(kUnderline);
  if (ids.size() > 1 && second_is_special && model_->id_to_piece(underline) == kUnderline && ids[0] == underline)
    ids.erase(ids.begin());
  return ids;
}

void SentencePieceTokenizer::tokenize_piece(std::string_view text, std::vector<int64_t>& ids) const {
  if (legacy_ || !(starts_with(text, kUnderline) || starts_with(text, " "))) {
    for (int id : model_->encode(text)) ids.push_back(id);
    return;
  }
  // Encoding "<unk>" + text keeps the leading space the normaliser would drop.
  const std::vector<int> pieces = model_->encode(*unk_token_ + std::string(text));
  const size_t skip = pieces.size() >= unk_token_length_ ? unk_token_length_ : 0;
  for (size_t i = skip; i < pieces.size(); ++i) ids.push_back(pieces[i]);
}

std::optional<int64_t> SentencePieceTokenizer::vocab_id(std::string_view token) const {
  const int id = model_->piece_to_id(token);
  if (id < 0 || id >= piece_size_ || model_->id_to_piece(id) != token) return std::nullopt;
  return id;
}

std::optional<std::string> SentencePieceTokenizer::id_to_token(int64_t id) const {
  if (id < 0 || id >= piece_size_) return std::nullopt;
  return std::string(model_->id_to_piece(static_cast<int>(id)));
}

std::string SentencePieceTokenizer::tokens_to_string(std::vector<std::string> tokens) const {
  if (add_prefix_space_ && !tokens.empty() && starts_with(tokens[0], kUnderline))
    tokens[0] = tokens[0].substr(kUnderline.size());
  std::string out;
  std::vector<std::string> current;
  bool previous_special = false;
  for (auto& token : tokens) {
    // Special tokens are written as they are, not through the model.
    if (is_special_token(token)) {
      if (!previous_special) out += ' ';
      out += model_->decode_pieces(current) + token;
      previous_special = true;
      current.clear();
    } else {
      current.push_back(std::move(token));
      previous_special = false;
    }
  }
  out += model_->decode_pieces(current);
  return std::string(unicode::strip(out));
}

std::vector<int64_t> SentencePieceTokenizer::add_special_tokens(std::vector<int64_t> ids) const {
  if (!ids.empty() && ids.back() == special_.eos) {
    log::warn("the text already ends with the end-of-sequence token; it is not added twice");
    return ids;
  }
  ids.push_back(special_.eos);
  return ids;
}

}  // namespace capbench
