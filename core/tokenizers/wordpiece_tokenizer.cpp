#include "core/tokenizers/wordpiece_tokenizer.h"

#include <cstring>

#include "core/error.h"
#include "core/tokenizers/unicode_text.h"

namespace capbench {

namespace fs = std::filesystem;

namespace {

bool is_whitespace(char32_t cp) {
  return cp == ' ' || cp == '\t' || cp == '\n' || cp == '\r' || std::strcmp(unicode::category(cp), "Zs") == 0;
}

bool is_control(char32_t cp) {
  if (cp == '\t' || cp == '\n' || cp == '\r') return false;
  return unicode::category(cp)[0] == 'C';
}

bool is_punctuation(char32_t cp) {
  if ((cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) || (cp >= 123 && cp <= 126))
    return true;
  return unicode::category(cp)[0] == 'P';
}

// The CJK Unified Ideographs blocks BERT splits into single characters.
bool is_chinese_char(char32_t cp) {
  return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) || (cp >= 0x20000 && cp <= 0x2A6DF) ||
         (cp >= 0x2A700 && cp <= 0x2B73F) || (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B820 && cp <= 0x2CEAF) ||
         (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
}

// whitespace_tokenize: str.strip() then str.split().
std::vector<std::u32string> split_words(const std::u32string& text) {
  std::vector<std::u32string> words;
  std::u32string word;
  for (char32_t cp : text) {
    if (unicode::is_python_space(cp)) {
      if (!word.empty()) words.push_back(std::move(word));
      word.clear();
    } else {
      word += cp;
    }
  }
  if (!word.empty()) words.push_back(std::move(word));
  return words;
}

std::u32string strip_accents(const std::u32string& word) {
  std::u32string out;
  for (char32_t cp : unicode::to_u32(unicode::nfd(unicode::to_utf8(word))))
    if (std::strcmp(unicode::category(cp), "Mn") != 0) out += cp;
  return out;
}

// vocab.txt as BertTokenizer reads it: one token per line (universal
// newlines), the id is the line number; a repeated token keeps its last line.
std::vector<std::string> read_vocab_lines(const fs::path& file) {
  const std::string content = read_file_bytes(file);
  unicode::require_valid_utf8(content, file.string());
  std::vector<std::string> lines;
  std::string line;
  for (size_t i = 0; i < content.size(); ++i) {
    const char c = content[i];
    if (c == '\n' || c == '\r') {
      if (c == '\r' && i + 1 < content.size() && content[i + 1] == '\n') ++i;
      lines.push_back(std::move(line));
      line.clear();
    } else {
      line += c;
    }
  }
  if (!line.empty()) lines.push_back(std::move(line));
  return lines;
}

}  // namespace

WordPieceTokenizer::WordPieceTokenizer(const TokenizerConfig& config) {
  const fs::path file = config.folder / "vocab.txt";
  const auto lines = read_vocab_lines(file);
  for (size_t i = 0; i < lines.size(); ++i) vocab_[lines[i]] = static_cast<int64_t>(i);
  tokens_by_id_.assign(lines.size(), nullptr);
  for (const auto& [token, id] : vocab_) tokens_by_id_[id] = &token;

  do_lower_case_ = config.get_bool("do_lower_case", true);
  do_basic_tokenize_ = config.get_bool("do_basic_tokenize", true);
  tokenize_chinese_chars_ = config.get_bool("tokenize_chinese_chars", true);
  if (config.init.contains("strip_accents") && !config.init["strip_accents"].is_null())
    strip_accents_ = config.get_bool("strip_accents", false) ? 1 : 0;
  if (config.init.contains("never_split") && config.init["never_split"].is_array())
    for (const auto& token : config.init["never_split"])
      if (token.is_string()) never_split_.insert(token.get<std::string>());

  set_up_tokens(config, {{"unk_token", "[UNK]"},
                         {"sep_token", "[SEP]"},
                         {"pad_token", "[PAD]"},
                         {"cls_token", "[CLS]"},
                         {"mask_token", "[MASK]"}});
  basic_no_split_ = never_split_;
  basic_no_split_.insert(all_special_tokens().begin(), all_special_tokens().end());
  if (unk_token_) {
    if (auto id = vocab_id(*unk_token_)) unk_id_ = *id;
  }
}

std::vector<std::string> WordPieceTokenizer::basic_tokenize(std::string_view text) const {
  std::u32string cleaned;
  for (size_t pos = 0; pos < text.size();) {
    const char32_t cp = unicode::next_code_point(text, pos);
    if (cp == 0 || cp == 0xFFFD || is_control(cp)) continue;
    if (is_whitespace(cp)) {
      cleaned += U' ';
    } else if (tokenize_chinese_chars_ && is_chinese_char(cp)) {
      cleaned += U' ';
      cleaned += cp;
      cleaned += U' ';
    } else {
      cleaned += cp;
    }
  }
  const std::u32string normalized = unicode::to_u32(unicode::nfc(unicode::to_utf8(cleaned)));
  std::vector<std::string> tokens;
  for (std::u32string word : split_words(normalized)) {
    const std::string word_utf8 = unicode::to_utf8(word);
    if (basic_no_split_.count(word_utf8)) {
      tokens.push_back(word_utf8);
      continue;
    }
    // The text was lower-cased character by character before (tokenize), so
    // lower() has nothing left to change here.
    if ((do_lower_case_ && strip_accents_ != 0) || strip_accents_ == 1) word = strip_accents(word);
    std::u32string current;
    for (char32_t cp : word) {
      if (is_punctuation(cp)) {
        if (!current.empty()) tokens.push_back(unicode::to_utf8(current));
        current.clear();
        tokens.push_back(unicode::to_utf8(std::u32string(1, cp)));
      } else {
        current += cp;
      }
    }
    if (!current.empty()) tokens.push_back(unicode::to_utf8(current));
  }
  return tokens;
}

void WordPieceTokenizer::wordpiece(const std::string& word, std::vector<int64_t>& ids) const {
  const std::u32string chars = unicode::to_u32(word);
  if (chars.size() > max_input_chars_per_word_) {
    ids.push_back(unk_id_);
    return;
  }
  std::vector<int64_t> pieces;
  std::string candidate;
  for (size_t start = 0; start < chars.size();) {
    size_t end = chars.size();
    int64_t found = -1;
    for (; end > start; --end) {
      candidate = start > 0 ? "##" : "";
      candidate += unicode::to_utf8(std::u32string_view(chars).substr(start, end - start));
      if (auto it = vocab_.find(candidate); it != vocab_.end()) {
        found = it->second;
        break;
      }
    }
    if (found < 0) {
      ids.push_back(unk_id_);
      return;
    }
    pieces.push_back(found);
    start = end;
  }
  ids.insert(ids.end(), pieces.begin(), pieces.end());
}

void WordPieceTokenizer::tokenize_piece(std::string_view text, std::vector<int64_t>& ids) const {
  std::string lowered;
  if (do_lower_case_) {
    std::u32string cps;
    for (size_t pos = 0; pos < text.size();) unicode::append_lower(cps, unicode::next_code_point(text, pos));
    lowered = unicode::to_utf8(cps);
    text = lowered;
  }
  if (!do_basic_tokenize_) {
    for (const auto& word : split_words(unicode::to_u32(text))) wordpiece(unicode::to_utf8(word), ids);
    return;
  }
  for (const std::string& token : basic_tokenize(text)) {
    if (never_split_.count(token))
      ids.push_back(token_to_id(token));
    else
      wordpiece(token, ids);
  }
}

std::optional<int64_t> WordPieceTokenizer::vocab_id(std::string_view token) const {
  auto it = vocab_.find(std::string(token));
  if (it == vocab_.end()) return std::nullopt;
  return it->second;
}

std::optional<std::string> WordPieceTokenizer::id_to_token(int64_t id) const {
  // BertTokenizer decodes an id it lacks as its unknown token.
  if (id < 0 || static_cast<size_t>(id) >= tokens_by_id_.size() || tokens_by_id_[id] == nullptr) return unk_token_;
  return *tokens_by_id_[id];
}

std::string WordPieceTokenizer::tokens_to_string(std::vector<std::string> tokens) const {
  std::string joined;
  for (size_t i = 0; i < tokens.size(); ++i) {
    if (i > 0) joined += ' ';
    joined += tokens[i];
  }
  std::string out;
  out.reserve(joined.size());
  for (size_t i = 0; i < joined.size(); ++i) {
    if (joined.compare(i, 3, " ##") == 0) {
      i += 2;
      continue;
    }
    out += joined[i];
  }
  return std::string(unicode::strip(out));
}

std::vector<int64_t> WordPieceTokenizer::add_special_tokens(std::vector<int64_t> ids) const {
  ids.insert(ids.begin(), special_.cls);
  ids.push_back(special_.sep);
  return ids;
}

}  // namespace capbench
