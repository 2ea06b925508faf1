#pragma once
// Helpers for experiment files over toml++ trees: parse errors and positions as
// "file:line:column", moving nodes between tables (a move keeps a node's source
// position, a copy loses it), and dotted keys ("generate.num_beams").
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <toml++/toml.h>
#include <vector>

namespace capbench::toml_tree {

// Parses `file`; a syntax error becomes Error("file:line:column: what").
toml::table parse_file(const std::filesystem::path& file);

// "file:line:column" of a node, or "" when it has no source.
std::string position(const toml::node& node);

// Error "<position>: key '<dotted>' <what>" (position omitted when unknown).
[[noreturn]] void fail(const toml::node& node, const std::string& dotted, const std::string& what);

// Moves `node` into `table` under `key`, replacing any previous value.
void put(toml::table& table, const std::string& key, toml::node&& node);

// Moves every key of `from` into `into`; tables present in both are merged key
// by key, anything else in `from` replaces what `into` had.
void merge_into(toml::table& into, toml::table&& from);

// Leaves of `table` as dotted keys (nested tables flattened; arrays are leaves),
// in key order.
std::vector<std::pair<std::string, toml::node*>> flatten(toml::table& table, const std::string& prefix = "");

// Sets the dotted key `dotted` of `table` to `node`, creating intermediate tables.
// Throws (at `node`'s position) when an intermediate key holds a non-table.
void set_dotted(toml::table& table, const std::string& dotted, toml::node&& node);

// The value as JSON (dates and times become their TOML text).
nlohmann::json to_json(const toml::node& node);

}  // namespace capbench::toml_tree
