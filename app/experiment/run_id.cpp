#include "app/experiment/run_id.h"

#include <cstdio>
#include <map>

namespace capbench {

uint64_t fnv1a64(const std::string& text) {
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : text) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

std::string run_id(const std::string& canonical_settings) {
  char text[17];
  std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(fnv1a64(canonical_settings)));
  return std::string(text, 12);
}

namespace {

// "/generate/num_beams" -> "generate.num_beams"
std::string dotted(const std::string& pointer) {
  std::string out = pointer.substr(1);
  for (char& c : out)
    if (c == '/') c = '.';
  return out;
}

// Which setting of the file a flattened JSON key comes from: component plugin
// settings live under "<component>.settings.<key>" in the JSON, "<component>.<key>" in the file.
std::string file_key(const std::string& key) {
  auto at = key.find(".settings.");
  if (at == std::string::npos) return key;
  return key.substr(0, at) + key.substr(at + 9);
}

// The swept key of the file that sets JSON key `key`: a component's own key,
// model.* (the default of the three components) or the top-level device/dtype.
std::string swept_source(const std::string& key, const std::set<std::string>& swept) {
  if (swept.count(key)) return key;
  auto dot = key.find('.');
  if (dot == std::string::npos) return "";
  std::string section = key.substr(0, dot), rest = key.substr(dot + 1);
  bool component = section == "encoder" || section == "bridge" || section == "decoder";
  if (component && swept.count("model." + rest)) return "model." + rest;
  if (component && swept.count(rest)) return rest;
  return "";
}

std::string short_key(const std::string& key) {
  return key.rfind("generate.", 0) == 0 ? key.substr(9) : key;
}

}  // namespace

void describe_differences(std::vector<RunSpec>& runs, const std::vector<nlohmann::json>& settings,
                          const std::vector<std::set<std::string>>& swept_keys) {
  std::vector<nlohmann::json> flat;
  std::map<std::string, int> seen;
  for (const auto& s : settings) {
    flat.push_back(s.flatten());
    for (const auto& [key, value] : flat.back().items()) seen[key]++;
  }
  std::vector<std::string> differing;
  for (const auto& [key, count] : seen) {
    bool differs = count != static_cast<int>(flat.size());
    for (size_t i = 1; !differs && i < flat.size(); ++i) differs = flat[i][key] != flat[0][key];
    if (differs) differing.push_back(key);
  }
  for (size_t i = 0; i < runs.size(); ++i) {
    RunSpec& run = runs[i];
    run.differing.clear();
    std::string label = run.variant;
    std::set<std::string> labelled;
    for (const auto& pointer : differing) {
      std::string key = file_key(dotted(pointer));
      std::string value = flat[i].contains(pointer) ? flat[i][pointer].dump() : "(unset)";
      run.differing.emplace_back(key, value);
      std::string source = swept_source(key, swept_keys[i]);
      if (!source.empty() && labelled.insert(source).second)
        label += (label.empty() ? "" : " ") + short_key(source) + "=" + value;
    }
    run.label = label.empty() ? "base" : label;
  }
}

}  // namespace capbench
