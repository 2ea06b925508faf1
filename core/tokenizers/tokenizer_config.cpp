#include "core/tokenizers/tokenizer_config.h"

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <sstream>

#include "core/error.h"
#include "core/json_file.h"

namespace capbench {

namespace fs = std::filesystem;

std::string read_file_bytes(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw Error(file.string() + ": cannot be opened");
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

AddedToken parse_added_token(const nlohmann::json& value, const fs::path& file) {
  AddedToken token;
  if (value.is_string()) {
    token.content = value.get<std::string>();
    return token;
  }
  if (!value.is_object() || !value.contains("content") || !value["content"].is_string())
    throw Error(file.string() + ": a token must be a string or an object with a string 'content'");
  token.content = value["content"].get<std::string>();
  const auto flag = [&](const char* key, bool fallback) {
    return value.contains(key) && value[key].is_boolean() ? value[key].get<bool>() : fallback;
  };
  token.lstrip = flag("lstrip", false);
  token.rstrip = flag("rstrip", false);
  token.single_word = flag("single_word", false);
  token.normalized = flag("normalized", true);
  token.special = flag("special", false);
  return token;
}

namespace {

bool is_special_attribute(const std::string& key) {
  if (key == "additional_special_tokens") return true;
  for (const char* attribute : kSpecialTokenAttributes)
    if (key == attribute) return true;
  return false;
}

void read_added_tokens_decoder(TokenizerConfig& config, const nlohmann::json& decoder, const fs::path& file) {
  if (!decoder.is_object()) throw Error(file.string() + ": key 'added_tokens_decoder' must be an object");
  for (const auto& [key, value] : decoder.items()) {
    int64_t id;
    try {
      size_t used = 0;
      id = std::stoll(key, &used);
      if (used != key.size()) throw std::invalid_argument(key);
    } catch (const std::exception&) {
      throw Error(file.string() + ": key 'added_tokens_decoder." + key + "' is not a token id");
    }
    config.added_tokens_decoder[id] = parse_added_token(value, file);
  }
}

}  // namespace

TokenizerConfig read_tokenizer_config(const fs::path& folder) {
  TokenizerConfig config;
  config.folder = folder;
  const fs::path config_file = folder / "tokenizer_config.json";
  if (fs::exists(config_file)) {
    config.init = read_json_file(config_file);
    if (!config.init.is_object()) throw Error(config_file.string() + ": top level must be a JSON object");
  }
  if (config.init.contains("added_tokens_decoder")) {
    read_added_tokens_decoder(config, config.init["added_tokens_decoder"], config_file);
    config.init.erase("added_tokens_decoder");
    return config;
  }
  // Without added_tokens_decoder, transformers falls back to the older files.
  const fs::path map_file = folder / "special_tokens_map.json";
  if (fs::exists(map_file)) {
    const nlohmann::json map = read_json_file(map_file);
    if (!map.is_object()) throw Error(map_file.string() + ": top level must be a JSON object");
    for (const auto& [key, value] : map.items()) {
      if (key != "additional_special_tokens") {
        config.init[key] = value;
        continue;
      }
      nlohmann::json merged = config.init.value("additional_special_tokens", nlohmann::json::array());
      if (merged.is_null()) merged = nlohmann::json::array();
      for (const auto& token : value) {
        const std::string content = parse_added_token(token, map_file).content;
        bool present = false;
        for (const auto& existing : merged) present |= parse_added_token(existing, map_file).content == content;
        if (!present) merged.push_back(token);
      }
      config.init[key] = merged;
    }
  }
  const fs::path added_file = folder / "added_tokens.json";
  if (fs::exists(added_file)) {
    std::vector<std::string> specials;
    for (const auto& [key, value] : config.init.items()) {
      if (!is_special_attribute(key) || value.is_null()) continue;
      if (value.is_array()) {
        for (const auto& token : value) specials.push_back(parse_added_token(token, added_file).content);
      } else {
        specials.push_back(parse_added_token(value, added_file).content);
      }
    }
    const nlohmann::json added = read_json_file(added_file);
    if (!added.is_object()) throw Error(added_file.string() + ": top level must be an object of token -> id");
    for (const auto& [content, id] : added.items()) {
      if (!id.is_number_integer()) throw Error(added_file.string() + ": the id of '" + content + "' is not an integer");
      AddedToken token;
      token.content = content;
      token.special = std::find(specials.begin(), specials.end(), content) != specials.end();
      token.normalized = !token.special;
      config.added_tokens_decoder[id.get<int64_t>()] = token;
    }
  }
  const fs::path tokenizer_file = folder / "tokenizer.json";
  if (fs::exists(tokenizer_file) && !fs::exists(config_file)) {
    const nlohmann::json fast = read_json_file(tokenizer_file);
    if (fast.contains("added_tokens") && fast["added_tokens"].is_array())
      for (const auto& entry : fast["added_tokens"]) {
        if (!entry.contains("id") || !entry["id"].is_number_integer())
          throw Error(tokenizer_file.string() + ": an entry of 'added_tokens' lacks an integer 'id'");
        config.added_tokens_decoder[entry["id"].get<int64_t>()] = parse_added_token(entry, tokenizer_file);
      }
  }
  return config;
}

std::string TokenizerConfig::tokenizer_class() const { return get_string("tokenizer_class", ""); }

bool TokenizerConfig::get_bool(const std::string& key, bool fallback) const {
  if (!init.contains(key) || init[key].is_null()) return fallback;
  if (!init[key].is_boolean())
    throw Error((folder / "tokenizer_config.json").string() + ": key '" + key + "' must be true or false");
  return init[key].get<bool>();
}

int64_t TokenizerConfig::get_int(const std::string& key, int64_t fallback) const {
  if (!init.contains(key) || init[key].is_null()) return fallback;
  const auto& v = init[key];
  if (v.is_number_integer()) return v.get<int64_t>();
  // model_max_length is often stored as 1e30, "no limit".
  if (v.is_number_float()) return v.get<double>() >= 9.2e18 ? INT64_MAX : static_cast<int64_t>(v.get<double>());
  throw Error((folder / "tokenizer_config.json").string() + ": key '" + key + "' must be an integer");
}

std::string TokenizerConfig::get_string(const std::string& key, const std::string& fallback) const {
  if (!init.contains(key) || init[key].is_null()) return fallback;
  if (!init[key].is_string())
    throw Error((folder / "tokenizer_config.json").string() + ": key '" + key + "' must be a string");
  return init[key].get<std::string>();
}

std::optional<AddedToken> TokenizerConfig::special_token(const std::string& attribute,
                                                         const char* class_default) const {
  if (init.contains(attribute)) {
    if (init[attribute].is_null()) return std::nullopt;
    return parse_added_token(init[attribute], folder / "tokenizer_config.json");
  }
  if (class_default == nullptr) return std::nullopt;
  AddedToken token;
  token.content = class_default;
  return token;
}

std::vector<AddedToken> TokenizerConfig::additional_special_tokens() const {
  std::vector<AddedToken> tokens;
  if (!init.contains("additional_special_tokens") || init["additional_special_tokens"].is_null()) return tokens;
  for (const auto& token : init["additional_special_tokens"])
    tokens.push_back(parse_added_token(token, folder / "tokenizer_config.json"));
  return tokens;
}

}  // namespace capbench
