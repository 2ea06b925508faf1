#pragma once
// A component's settings: one TOML table (from an experiment file or built from
// command-line flags). Every key a component reads is marked; keys nobody read are
// typos, and check_all_used() reports them with their file:line:column.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace toml {
inline namespace v3 {
class table;
}
}  // namespace toml

namespace capbench {

class Settings {
 public:
  // `where` names the table in messages, e.g. "exp.toml [decoder]" or "--decoder flags".
  Settings(const toml::table& table, std::string where);
  Settings();  // empty table
  ~Settings();
  Settings(const Settings&);
  Settings& operator=(const Settings&);

  bool has(const std::string& key) const;
  std::optional<std::string> get_string(const std::string& key);
  std::optional<int64_t> get_int(const std::string& key);
  std::optional<double> get_double(const std::string& key);  // integers accepted
  std::optional<bool> get_bool(const std::string& key);

  std::string get_string(const std::string& key, const std::string& fallback);
  int64_t get_int(const std::string& key, int64_t fallback);
  double get_double(const std::string& key, double fallback);
  bool get_bool(const std::string& key, bool fallback);

  void set(const std::string& key, const std::string& value);
  void set(const std::string& key, int64_t value);
  void set(const std::string& key, double value);
  void set(const std::string& key, bool value);

  // Throws Error naming the first unread key and where it was written.
  void check_all_used() const;

  const toml::table& table() const;
  const std::string& where() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace capbench
