// A folder of images without ground truth: predictions and submissions, no scores.
#include <map>

#include "core/error.h"
#include "datasets/dataset_problems.h"

namespace capbench {

namespace fs = std::filesystem;

std::vector<DatasetItem> read_folder(Settings& table, const fs::path& base_dir, DataProblems& problems) {
  std::optional<std::string> root_key = table.get_string("root");
  if (!root_key) throw Error(table.where() + ": a folder dataset needs `root` (the folder of images)");
  const fs::path root = resolve_path(base_dir, *root_key);
  std::vector<DatasetItem> items;
  std::map<std::string, fs::path> seen;
  for (const fs::path& file : image_files_in(root)) {
    std::string id = file.stem().string();
    if (auto [it, added] = seen.emplace(id, file); !added) {
      problems.report(file.string(), "duplicate id '" + id + "' (also " + it->second.filename().string() + ")");
      continue;
    }
    items.push_back({id, file, {}});
  }
  return items;
}

}  // namespace capbench
