#pragma once
// What a Hugging Face folder says about its tokenizer: tokenizer_config.json,
// special_tokens_map.json, added_tokens.json (and tokenizer.json's added
// tokens), merged the way transformers 4.40 merges them for slow tokenizers.
#include <cstdint>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/tokenizers/added_tokens.h"

namespace capbench {

// The special-token attributes in transformers' order.
inline constexpr const char* kSpecialTokenAttributes[] = {"bos_token", "eos_token", "unk_token", "sep_token",
                                                          "pad_token", "cls_token", "mask_token"};

struct TokenizerConfig {
  std::filesystem::path folder;
  nlohmann::json init = nlohmann::json::object();  // the tokenizer's init arguments
  std::map<int64_t, AddedToken> added_tokens_decoder;

  std::string tokenizer_class() const;  // "" when the folder does not say
  bool get_bool(const std::string& key, bool fallback) const;
  int64_t get_int(const std::string& key, int64_t fallback) const;
  std::string get_string(const std::string& key, const std::string& fallback) const;

  // The token of a special attribute: the folder's value, none where the folder
  // sets it to null, else `class_default` (nullptr: none).
  std::optional<AddedToken> special_token(const std::string& attribute, const char* class_default) const;
  // additional_special_tokens as listed by the folder (empty when absent).
  std::vector<AddedToken> additional_special_tokens() const;
};

TokenizerConfig read_tokenizer_config(const std::filesystem::path& folder);

// The whole content of a vocabulary or model file; throws Error naming it.
std::string read_file_bytes(const std::filesystem::path& file);

// One token as transformers serialises it: a string or an AddedToken object.
AddedToken parse_added_token(const nlohmann::json& value, const std::filesystem::path& file);

}  // namespace capbench
