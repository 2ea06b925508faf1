#pragma once
// Stable run ids and the readable description of how runs differ.
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "app/experiment/experiment.h"

namespace capbench {

// 12 hex digits of the 64-bit FNV-1a hash of canonical settings text: equal
// settings give equal ids on every machine and in every session.
std::string run_id(const std::string& canonical_settings);

// 64-bit FNV-1a of any text (also used to shard images by id and to derive
// per-image sampling seeds).
uint64_t fnv1a64(const std::string& text);

// Fills each run's `differing` (every dotted setting whose value is not the same
// in all runs) and `label` (the variant name, then the swept keys of the run).
void describe_differences(std::vector<RunSpec>& runs, const std::vector<nlohmann::json>& settings,
                          const std::vector<std::set<std::string>>& swept_keys);

}  // namespace capbench
