#pragma once
// Reading JSON files of checkpoints (config.json and friends) with errors that
// name the file and the dotted key at fault.
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace capbench {

// Parses `file`; throws Error naming the file (and line/column when JSON is malformed).
nlohmann::json read_json_file(const std::filesystem::path& file);

// A JSON object plus where it came from ("config.json", key path "text_config").
class JsonObject {
 public:
  JsonObject(const nlohmann::json& value, std::filesystem::path file, std::string path = "");

  bool has(const std::string& key) const;  // present and not null
  // Typed getters: absent or null -> fallback; present with another type -> Error
  // "<file>: key 'text_config.hidden_size' must be an integer".
  int64_t get_int(const std::string& key, int64_t fallback) const;
  double get_double(const std::string& key, double fallback) const;
  bool get_bool(const std::string& key, bool fallback) const;
  std::string get_string(const std::string& key, const std::string& fallback) const;
  std::optional<int64_t> get_optional_int(const std::string& key) const;
  JsonObject child(const std::string& key) const;  // {} when absent
  int64_t require_int(const std::string& key) const;
  std::string require_string(const std::string& key) const;

  const nlohmann::json& json() const { return value_; }
  const std::filesystem::path& file() const { return file_; }
  std::string key_path(const std::string& key) const;
  // Throws Error "<file>: key '<path>' must be positive" unless value > 0
  // (`value` is what was read for `key`, or its default).
  void require_positive(const std::string& key, int64_t value) const;

 private:
  nlohmann::json value_;
  std::filesystem::path file_;
  std::string path_;
};

}  // namespace capbench
