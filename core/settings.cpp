#include "core/settings.h"

#include <map>
#include <set>
#include <toml++/toml.h>

#include "core/error.h"
#include "core/toml_tree.h"

namespace capbench {

using toml_tree::position;

struct Settings::Impl {
  toml::table table;
  std::string where;
  std::set<std::string> used;
  // "file:line:column" of each key as given: toml++ does not copy source regions,
  // so they are taken from the caller's table before `table` is copied from it.
  std::map<std::string, std::string> positions;

  std::string position_of(const std::string& key, const toml::node& node) const {
    std::string pos = position(node);
    if (!pos.empty()) return pos;
    auto it = positions.find(key);
    return it == positions.end() ? "" : it->second;
  }
};

Settings::Settings(const toml::table& table, std::string where)
    : impl_(std::make_unique<Impl>(Impl{table, std::move(where), {}, {}})) {
  for (const auto& [key, node] : table) impl_->positions[std::string(key.str())] = position(node);
}
Settings::Settings() : impl_(std::make_unique<Impl>(Impl{{}, "settings", {}, {}})) {}
Settings::~Settings() = default;
Settings::Settings(const Settings& o) : impl_(std::make_unique<Impl>(*o.impl_)) {}
Settings& Settings::operator=(const Settings& o) {
  impl_ = std::make_unique<Impl>(*o.impl_);
  return *this;
}

namespace {

[[noreturn]] void wrong_type(const std::string& where, const std::string& key, const std::string& pos,
                             const char* expected) {
  throw Error((pos.empty() ? where : pos + " " + where) + ": key '" + key + "' must be " + expected);
}

}  // namespace

bool Settings::has(const std::string& key) const { return impl_->table.contains(key); }

std::optional<std::string> Settings::get_string(const std::string& key) {
  const toml::node* n = impl_->table.get(key);
  if (!n) return std::nullopt;
  impl_->used.insert(key);
  if (auto v = n->value<std::string>(); v && n->is_string()) return *v;
  wrong_type(impl_->where, key, impl_->position_of(key, *n), "a string");
}

std::optional<int64_t> Settings::get_int(const std::string& key) {
  const toml::node* n = impl_->table.get(key);
  if (!n) return std::nullopt;
  impl_->used.insert(key);
  if (n->is_integer()) return n->as_integer()->get();
  wrong_type(impl_->where, key, impl_->position_of(key, *n), "an integer");
}

std::optional<double> Settings::get_double(const std::string& key) {
  const toml::node* n = impl_->table.get(key);
  if (!n) return std::nullopt;
  impl_->used.insert(key);
  if (n->is_floating_point()) return n->as_floating_point()->get();
  if (n->is_integer()) return static_cast<double>(n->as_integer()->get());
  wrong_type(impl_->where, key, impl_->position_of(key, *n), "a number");
}

std::optional<bool> Settings::get_bool(const std::string& key) {
  const toml::node* n = impl_->table.get(key);
  if (!n) return std::nullopt;
  impl_->used.insert(key);
  if (n->is_boolean()) return n->as_boolean()->get();
  wrong_type(impl_->where, key, impl_->position_of(key, *n), "true or false");
}

std::string Settings::get_string(const std::string& key, const std::string& fallback) {
  return get_string(key).value_or(fallback);
}
int64_t Settings::get_int(const std::string& key, int64_t fallback) { return get_int(key).value_or(fallback); }
double Settings::get_double(const std::string& key, double fallback) { return get_double(key).value_or(fallback); }
bool Settings::get_bool(const std::string& key, bool fallback) { return get_bool(key).value_or(fallback); }

void Settings::set(const std::string& key, const std::string& value) { impl_->table.insert_or_assign(key, value); }
void Settings::set(const std::string& key, int64_t value) { impl_->table.insert_or_assign(key, value); }
void Settings::set(const std::string& key, double value) { impl_->table.insert_or_assign(key, value); }
void Settings::set(const std::string& key, bool value) { impl_->table.insert_or_assign(key, value); }

void Settings::check_all_used() const {
  for (const auto& [key, node] : impl_->table) {
    std::string k(key.str());
    if (impl_->used.count(k)) continue;
    std::string pos = impl_->position_of(k, node);
    throw Error((pos.empty() ? impl_->where : pos + " " + impl_->where) + ": unknown key '" + k + "'");
  }
}

const toml::table& Settings::table() const { return impl_->table; }
const std::string& Settings::where() const { return impl_->where; }

}  // namespace capbench
