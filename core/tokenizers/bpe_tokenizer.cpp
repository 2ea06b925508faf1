#include "core/tokenizers/bpe_tokenizer.h"

#include "core/error.h"
#include "core/json_file.h"
#include "core/log.h"
#include "core/tokenizers/byte_level.h"
#include "core/tokenizers/unicode_text.h"

namespace capbench {

namespace fs = std::filesystem;

namespace {

constexpr size_t kCacheLimit = 1 << 18;

// str.split() without arguments.
std::vector<std::string> split_on_space(std::string_view line) {
  std::vector<std::string> parts;
  std::string part;
  for (size_t pos = 0; pos < line.size();) {
    const size_t start = pos;
    if (unicode::is_python_space(unicode::next_code_point(line, pos))) {
      if (!part.empty()) parts.push_back(std::move(part));
      part.clear();
    } else {
      part.append(line.substr(start, pos - start));
    }
  }
  if (!part.empty()) parts.push_back(std::move(part));
  return parts;
}

// merges.txt as GPT2Tokenizer reads it: the first line (#version) and the
// last piece after the final newline are dropped; every other line keeps its rank.
std::vector<std::pair<std::string, std::string>> read_merges_txt(const fs::path& file) {
  const std::string content = read_file_bytes(file);
  unicode::require_valid_utf8(content, file.string());
  std::vector<std::string_view> lines;
  for (size_t pos = 0;;) {
    const size_t end = content.find('\n', pos);
    lines.push_back(std::string_view(content).substr(pos, end == std::string::npos ? std::string::npos : end - pos));
    if (end == std::string::npos) break;
    pos = end + 1;
  }
  std::vector<std::pair<std::string, std::string>> merges;
  for (size_t i = 1; i + 1 < lines.size(); ++i) {
    auto parts = split_on_space(lines[i]);
    if (parts.size() == 2)
      merges.emplace_back(std::move(parts[0]), std::move(parts[1]));
    else
      merges.emplace_back();
  }
  return merges;
}

std::vector<std::pair<std::string, std::string>> read_json_merges(const nlohmann::json& list, const fs::path& file) {
  std::vector<std::pair<std::string, std::string>> merges;
  for (const auto& entry : list) {
    if (entry.is_string()) {
      auto parts = split_on_space(entry.get<std::string>());
      if (parts.size() == 2) {
        merges.emplace_back(std::move(parts[0]), std::move(parts[1]));
        continue;
      }
    } else if (entry.is_array() && entry.size() == 2 && entry[0].is_string() && entry[1].is_string()) {
      merges.emplace_back(entry[0].get<std::string>(), entry[1].get<std::string>());
      continue;
    }
    throw Error(file.string() + ": key 'model.merges' holds an entry that is not a pair of tokens");
  }
  return merges;
}

std::unordered_map<std::string, int64_t> read_vocab(const nlohmann::json& json, const fs::path& file,
                                                    const std::string& key) {
  if (!json.is_object()) throw Error(file.string() + ": " + key + " must be an object of token -> id");
  std::unordered_map<std::string, int64_t> vocab;
  vocab.reserve(json.size());
  for (const auto& [token, id] : json.items()) {
    if (!id.is_number_integer() || id.get<int64_t>() < 0)
      throw Error(file.string() + ": the id of token '" + token + "' is not a non-negative integer");
    vocab[token] = id.get<int64_t>();
  }
  return vocab;
}

}  // namespace

BpeTokenizer::BpeTokenizer(const TokenizerConfig& config) {
  load(config.folder);
  const std::string cls = config.tokenizer_class();
  std::map<std::string, const char*> defaults;
  if (cls.rfind("Roberta", 0) == 0 || cls.rfind("Bart", 0) == 0) {
    framing_ = Framing::roberta;
    defaults = {{"bos_token", "<s>"}, {"eos_token", "</s>"}, {"sep_token", "</s>"}, {"cls_token", "<s>"},
                {"unk_token", "<unk>"}, {"pad_token", "<pad>"}, {"mask_token", "<mask>"}};
    padding_side_ = "right";
  } else {
    if (!cls.empty() && cls.rfind("GPT2Tokenizer", 0) != 0)
      log::debug("{}: tokenizer_class {} read as GPT2Tokenizer (byte-level BPE)", config.folder.string(), cls);
    defaults = {{"bos_token", "<|endoftext|>"}, {"eos_token", "<|endoftext|>"}, {"unk_token", "<|endoftext|>"}};
    // Decoder-only models generate after the prompt: pad on the left.
    padding_side_ = "left";
  }
  add_prefix_space_ = config.get_bool("add_prefix_space", false);
  add_bos_token_ = framing_ == Framing::gpt2 && config.get_bool("add_bos_token", false);
  set_up_tokens(config, defaults);
  if (unk_token_) {
    if (auto id = vocab_id(*unk_token_)) unk_id_ = *id;
  }
  if (add_bos_token_ && special_.bos < 0)
    throw Error((config.folder / "tokenizer_config.json").string() + ": add_bos_token is set but there is no bos_token");
}

void BpeTokenizer::load(const fs::path& folder) {
  std::vector<std::pair<std::string, std::string>> merges;
  if (fs::exists(folder / "vocab.json") && fs::exists(folder / "merges.txt")) {
    vocab_ = read_vocab(read_json_file(folder / "vocab.json"), folder / "vocab.json", "the top level");
    merges = read_merges_txt(folder / "merges.txt");
  } else {
    const fs::path file = folder / "tokenizer.json";
    const nlohmann::json json = read_json_file(file);
    const auto& model = json.contains("model") ? json["model"] : nlohmann::json();
    if (!model.is_object() || model.value("type", "") != "BPE")
      throw Error(file.string() + ": key 'model.type' must be \"BPE\" for a byte-level BPE tokenizer");
    if (json.value("pre_tokenizer", nlohmann::json()).dump().find("ByteLevel") == std::string::npos)
      throw Error(file.string() + ": only byte-level BPE (a ByteLevel pre_tokenizer) is supported");
    vocab_ = read_vocab(model.value("vocab", nlohmann::json()), file, "key 'model.vocab'");
    merges = read_json_merges(model.value("merges", nlohmann::json::array()), file);
  }
  for (const auto& [token, id] : vocab_) {
    if (static_cast<size_t>(id) >= tokens_by_id_.size()) tokens_by_id_.resize(id + 1, nullptr);
    tokens_by_id_[id] = &token;
  }
  model_ = std::make_unique<BpeModel>(vocab_, merges);
}

std::string BpeTokenizer::prepare_text(std::string_view text) const {
  if (!add_prefix_space_) return std::string(text);
  if (framing_ == Framing::roberta) {
    size_t pos = 0;
    if (text.empty() || unicode::is_python_space(unicode::next_code_point(text, pos))) return std::string(text);
  }
  return " " + std::string(text);
}

void BpeTokenizer::tokenize_piece(std::string_view text, std::vector<int64_t>& ids) const {
  for (std::string_view word : pretokenizer_.split(text)) {
    {
      std::lock_guard<std::mutex> lock(cache_mutex_);
      if (auto it = cache_.find(std::string(word)); it != cache_.end()) {
        ids.insert(ids.end(), it->second.begin(), it->second.end());
        continue;
      }
    }
    std::vector<int64_t> word_ids;
    model_->encode_word(word, unk_id_, word_ids);
    ids.insert(ids.end(), word_ids.begin(), word_ids.end());
    std::lock_guard<std::mutex> lock(cache_mutex_);
    if (cache_.size() >= kCacheLimit) cache_.clear();
    cache_.emplace(std::string(word), std::move(word_ids));
  }
}

std::optional<int64_t> BpeTokenizer::vocab_id(std::string_view token) const {
  auto it = vocab_.find(std::string(token));
  if (it == vocab_.end()) return std::nullopt;
  return it->second;
}

std::optional<std::string> BpeTokenizer::id_to_token(int64_t id) const {
  if (id < 0 || static_cast<size_t>(id) >= tokens_by_id_.size() || tokens_by_id_[id] == nullptr) return std::nullopt;
  return *tokens_by_id_[id];
}

std::string BpeTokenizer::tokens_to_string(std::vector<std::string> tokens) const {
  std::string joined;
  for (const auto& token : tokens) joined += token;
  return byte_level::decode(joined);
}

std::vector<int64_t> BpeTokenizer::add_special_tokens(std::vector<int64_t> ids) const {
  if (framing_ == Framing::roberta) {
    ids.insert(ids.begin(), special_.cls);
    ids.push_back(special_.sep);
  } else if (add_bos_token_) {
    ids.insert(ids.begin(), special_.bos);
  }
  return ids;
}

size_t BpeTokenizer::num_special_tokens_to_add() const {
  return framing_ == Framing::roberta ? 2 : add_bos_token_ ? 1 : 0;
}

}  // namespace capbench
