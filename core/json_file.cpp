#include "core/json_file.h"

#include <fstream>
#include <sstream>

#include "core/error.h"

namespace capbench {

nlohmann::json read_json_file(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw Error(file.string() + ": cannot be opened");
  std::stringstream buffer;
  buffer << in.rdbuf();
  try {
    return nlohmann::json::parse(buffer.str());
  } catch (const nlohmann::json::parse_error& e) {
    throw Error(file.string() + ": malformed JSON (" + e.what() + ")");
  }
}

JsonObject::JsonObject(const nlohmann::json& value, std::filesystem::path file, std::string path)
    : value_(value.is_null() ? nlohmann::json::object() : value), file_(std::move(file)), path_(std::move(path)) {
  if (!value_.is_object()) throw Error(file_.string() + ": " + (path_.empty() ? "top level" : "key '" + path_ + "'") +
                                       " must be a JSON object");
}

std::string JsonObject::key_path(const std::string& key) const { return path_.empty() ? key : path_ + "." + key; }

bool JsonObject::has(const std::string& key) const { return value_.contains(key) && !value_.at(key).is_null(); }

namespace {
[[noreturn]] void wrong(const JsonObject& o, const std::string& key, const char* expected) {
  throw Error(o.file().string() + ": key '" + o.key_path(key) + "' must be " + expected);
}
}  // namespace

int64_t JsonObject::get_int(const std::string& key, int64_t fallback) const {
  if (!has(key)) return fallback;
  const auto& v = value_.at(key);
  if (v.is_number_integer()) return v.get<int64_t>();
  if (v.is_number_float() && v.get<double>() == static_cast<double>(static_cast<int64_t>(v.get<double>())))
    return static_cast<int64_t>(v.get<double>());
  wrong(*this, key, "an integer");
}

double JsonObject::get_double(const std::string& key, double fallback) const {
  if (!has(key)) return fallback;
  const auto& v = value_.at(key);
  if (v.is_number()) return v.get<double>();
  wrong(*this, key, "a number");
}

bool JsonObject::get_bool(const std::string& key, bool fallback) const {
  if (!has(key)) return fallback;
  const auto& v = value_.at(key);
  if (v.is_boolean()) return v.get<bool>();
  wrong(*this, key, "true or false");
}

std::string JsonObject::get_string(const std::string& key, const std::string& fallback) const {
  if (!has(key)) return fallback;
  const auto& v = value_.at(key);
  if (v.is_string()) return v.get<std::string>();
  wrong(*this, key, "a string");
}

std::optional<int64_t> JsonObject::get_optional_int(const std::string& key) const {
  if (!has(key)) return std::nullopt;
  return get_int(key, 0);
}

JsonObject JsonObject::child(const std::string& key) const {
  if (!has(key)) return JsonObject(nlohmann::json::object(), file_, key_path(key));
  return JsonObject(value_.at(key), file_, key_path(key));
}

int64_t JsonObject::require_int(const std::string& key) const {
  if (!has(key)) throw Error(file_.string() + ": key '" + key_path(key) + "' is missing");
  return get_int(key, 0);
}

std::string JsonObject::require_string(const std::string& key) const {
  if (!has(key)) throw Error(file_.string() + ": key '" + key_path(key) + "' is missing");
  return get_string(key, "");
}

void JsonObject::require_positive(const std::string& key, int64_t value) const {
  if (value <= 0) throw Error(file_.string() + ": key '" + key_path(key) + "' must be positive");
}

}  // namespace capbench
