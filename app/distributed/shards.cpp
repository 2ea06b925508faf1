#include "app/distributed/shards.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <regex>
#include <set>

namespace capbench::distributed {

namespace fs = std::filesystem;

fs::path shard_folder(const fs::path& output_dir, const Shard& shard) {
  return output_dir / "shards" / (std::to_string(shard.index) + "-of-" + std::to_string(shard.count));
}

std::vector<ShardDatabase> find_shard_databases(const fs::path& output_dir) {
  std::vector<ShardDatabase> found;
  const fs::path root = output_dir / "shards";
  if (!fs::is_directory(root)) return found;
  static const std::regex name(R"(([1-9][0-9]{0,8})-of-([1-9][0-9]{0,8}))");
  for (const fs::directory_entry& entry : fs::directory_iterator(root)) {
    std::smatch m;
    const std::string folder = entry.path().filename().string();
    if (!entry.is_directory() || !std::regex_match(folder, m, name)) continue;
    Shard shard{std::stoll(m[1]), std::stoll(m[2])};
    fs::path file = entry.path() / "results.sqlite";
    if (shard.index <= shard.count && fs::is_regular_file(file)) found.push_back({shard, file});
  }
  std::sort(found.begin(), found.end(), [](const ShardDatabase& a, const ShardDatabase& b) {
    return a.shard.count != b.shard.count ? a.shard.count < b.shard.count : a.shard.index < b.shard.index;
  });
  return found;
}

ShardMerge merge_shards(ResultsStore& store, const fs::path& output_dir, const std::vector<StoredImage>& images,
                        const Scoring* scoring) {
  auto start = std::chrono::steady_clock::now();
  ShardMerge report;
  std::set<std::pair<int64_t, int64_t>> present;
  for (const ShardDatabase& shard : find_shard_databases(output_dir)) {
    store.merge_from(shard.file);
    report.merged.push_back(shard.shard);
    present.insert({shard.shard.count, shard.shard.index});
  }
  // Shards missing from every N seen; none when one N is complete (it covers every image).
  std::map<int64_t, std::vector<Shard>> missing;
  for (const auto& [count, index] : present) missing[count];
  for (auto& [count, absent] : missing)
    for (int64_t index = 1; index <= count; ++index)
      if (!present.count({count, index})) absent.push_back({index, count});
  bool covered = std::any_of(missing.begin(), missing.end(), [](const auto& m) { return m.second.empty(); });
  if (!covered)
    for (const auto& [count, absent] : missing) report.missing.insert(report.missing.end(), absent.begin(), absent.end());

  store.begin();
  try {
    for (const StoredImage& image : images) store.put_image(image);
    store.set_meta("shard", "merged");
    store.commit();
  } catch (...) {
    store.rollback();
    throw;
  }
  finalize_runs(store, scoring);
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return report;
}

}  // namespace capbench::distributed
