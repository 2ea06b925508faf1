#include "datasets/dataset.h"

#include <algorithm>
#include <random>

#include "core/error.h"
#include "datasets/dataset_problems.h"

namespace capbench {

namespace {

bool all_digits(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](unsigned char c) { return c >= '0' && c <= '9'; });
}

// Numeric ids (COCO) in numeric order, everything else byte-wise.
bool id_less(const std::string& a, const std::string& b) {
  if (all_digits(a) && all_digits(b)) {
    std::string_view x(a), y(b);
    x.remove_prefix(std::min(x.find_first_not_of('0'), x.size()));
    y.remove_prefix(std::min(y.find_first_not_of('0'), y.size()));
    if (x.size() != y.size()) return x.size() < y.size();
    if (x != y) return x < y;
  }
  return a < b;
}

// Fisher-Yates with mt19937_64 and rejection sampling: the same order for a
// seed on every platform (std::shuffle's algorithm is the library's choice).
void shuffle_items(std::vector<DatasetItem>& items, uint64_t seed) {
  std::mt19937_64 rng(seed);
  for (size_t i = items.size(); i > 1; --i) {
    const uint64_t bound = i;
    const uint64_t limit = UINT64_MAX - UINT64_MAX % bound;
    uint64_t draw = rng();
    while (draw >= limit) draw = rng();
    std::swap(items[i - 1], items[draw % bound]);
  }
}

}  // namespace

Dataset load_dataset(Settings& table, const std::filesystem::path& base_dir) {
  std::optional<std::string> kind = table.get_string("kind");
  if (!kind) throw Error(table.where() + ": the dataset needs `kind` (sdip, coco or folder)");
  const std::string on_error = table.get_string("on_error", "fail");
  if (on_error != "fail" && on_error != "skip")
    throw Error(table.where() + ": on_error must be \"fail\" or \"skip\", not \"" + on_error + "\"");
  std::optional<int64_t> limit = table.get_int("limit");  // 0 or absent: every item
  if (limit && *limit < 0) throw Error(table.where() + ": limit must be 0 (every item) or positive");
  if (limit && *limit == 0) limit.reset();
  const bool shuffle = table.get_bool("shuffle", false);
  const int64_t seed = table.get_int("seed", 0);

  DataProblems problems(on_error == "skip");
  Dataset dataset;
  if (*kind == "sdip") dataset.items = read_sdip(table, base_dir, problems);
  else if (*kind == "coco") dataset.items = read_coco(table, base_dir, problems);
  else if (*kind == "folder") dataset.items = read_folder(table, base_dir, problems);
  else throw Error(table.where() + ": unknown dataset kind '" + *kind + "' (expected sdip, coco or folder)");
  dataset.skipped = std::move(problems.skipped());
  dataset.skip_errors = on_error == "skip";

  std::stable_sort(dataset.items.begin(), dataset.items.end(),
                   [](const DatasetItem& a, const DatasetItem& b) { return id_less(a.id, b.id); });
  if (shuffle) shuffle_items(dataset.items, static_cast<uint64_t>(seed));
  if (limit && static_cast<size_t>(*limit) < dataset.items.size()) dataset.items.resize(static_cast<size_t>(*limit));
  return dataset;
}

}  // namespace capbench
