#include "core/toml_tree.h"

#include <sstream>

#include "core/error.h"

namespace capbench::toml_tree {

toml::table parse_file(const std::filesystem::path& file) {
  if (!std::filesystem::is_regular_file(file)) throw Error(file.string() + ": no such experiment file");
  try {
    return toml::parse_file(file.string());
  } catch (const toml::parse_error& e) {
    std::ostringstream os;
    os << file.string() << ":" << e.source().begin.line << ":" << e.source().begin.column << ": "
       << e.description();
    throw Error(os.str());
  }
}

std::string position(const toml::node& node) {
  const auto& src = node.source();
  if (!src.begin) return "";
  std::ostringstream os;
  if (src.path) os << *src.path;
  os << ":" << src.begin.line << ":" << src.begin.column;
  return os.str();
}

void fail(const toml::node& node, const std::string& dotted, const std::string& what) {
  std::string pos = position(node);
  throw Error((pos.empty() ? "" : pos + ": ") + "key '" + dotted + "' " + what);
}

void put(toml::table& table, const std::string& key, toml::node&& node) {
  std::move(node).visit([&](auto&& value) { table.insert_or_assign(key, std::move(value)); });
}

void merge_into(toml::table& into, toml::table&& from) {
  for (auto&& [key, node] : from) {
    std::string k(key.str());
    toml::node* existing = into.get(k);
    if (existing && existing->is_table() && node.is_table()) {
      merge_into(*existing->as_table(), std::move(*node.as_table()));
    } else {
      put(into, k, std::move(node));
    }
  }
}

std::vector<std::pair<std::string, toml::node*>> flatten(toml::table& table, const std::string& prefix) {
  std::vector<std::pair<std::string, toml::node*>> out;
  for (auto&& [key, node] : table) {
    std::string dotted = prefix.empty() ? std::string(key.str()) : prefix + "." + std::string(key.str());
    if (node.is_table()) {
      auto inner = flatten(*node.as_table(), dotted);
      out.insert(out.end(), inner.begin(), inner.end());
    } else {
      out.emplace_back(dotted, &node);
    }
  }
  return out;
}

void set_dotted(toml::table& table, const std::string& dotted, toml::node&& node) {
  toml::table* at = &table;
  size_t start = 0;
  for (size_t dot = dotted.find('.'); dot != std::string::npos; dot = dotted.find('.', start)) {
    std::string part = dotted.substr(start, dot - start);
    toml::node* next = at->get(part);
    if (!next) {
      at->insert_or_assign(part, toml::table{});
      next = at->get(part);
    }
    if (!next->is_table()) fail(node, dotted, "overrides '" + dotted.substr(0, dot) + "', which is not a table");
    at = next->as_table();
    start = dot + 1;
  }
  put(*at, dotted.substr(start), std::move(node));
}

nlohmann::json to_json(const toml::node& node) {
  if (const auto* t = node.as_table()) {
    nlohmann::json out = nlohmann::json::object();
    for (auto&& [key, value] : *t) out[std::string(key.str())] = to_json(value);
    return out;
  }
  if (const auto* a = node.as_array()) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& value : *a) out.push_back(to_json(value));
    return out;
  }
  if (const auto* s = node.as_string()) return s->get();
  if (const auto* i = node.as_integer()) return i->get();
  if (const auto* f = node.as_floating_point()) return f->get();
  if (const auto* b = node.as_boolean()) return b->get();
  std::ostringstream os;
  node.visit([&](const auto& value) { os << value; });
  return os.str();
}

}  // namespace capbench::toml_tree
