// The Kaggle "Stable Diffusion - Image to Prompts" layout: ROOT/images/<imgId>.png
// and ROOT/prompts.csv with columns imgId,prompt (RFC 4180: prompts may hold
// commas, quotes and line breaks).
#include <algorithm>
#include <map>
#include <set>

#include "core/csv.h"
#include "core/error.h"
#include "datasets/dataset_problems.h"

namespace capbench {

namespace fs = std::filesystem;

namespace {

size_t column_index(const CsvRecord& header, const std::string& name, const fs::path& file) {
  auto it = std::find(header.fields.begin(), header.fields.end(), name);
  if (it == header.fields.end()) throw Error(file_line(file, header.line) + ": the header has no column '" + name + "'");
  return static_cast<size_t>(it - header.fields.begin());
}

bool is_blank(const std::string& text) {
  return text.find_first_not_of(" \t\r\n") == std::string::npos;
}

// Images by stem; for a stem with several files the .png (the competition's format) wins.
std::map<std::string, fs::path> images_by_id(const fs::path& folder) {
  std::map<std::string, fs::path> by_id;
  for (const fs::path& file : image_files_in(folder)) {
    auto [it, added] = by_id.emplace(file.stem().string(), file);
    if (!added && file.extension() == ".png") it->second = file;
  }
  return by_id;
}

}  // namespace

std::vector<DatasetItem> read_sdip(Settings& table, const fs::path& base_dir, DataProblems& problems) {
  std::optional<std::string> root_key = table.get_string("root");
  if (!root_key) throw Error(table.where() + ": an sdip dataset needs `root` (the folder holding prompts.csv and images/)");
  const fs::path root = resolve_path(base_dir, *root_key);
  const fs::path csv_file = resolve_path(root, table.get_string("prompts", "prompts.csv"));
  const fs::path image_dir = resolve_path(root, table.get_string("images", "images"));

  const std::map<std::string, fs::path> images = images_by_id(image_dir);
  const std::vector<CsvRecord> records = read_csv_file(csv_file);
  if (records.empty()) throw Error(csv_file.string() + ": empty file (expected the header imgId,prompt)");
  const CsvRecord& header = records.front();
  const size_t id_column = column_index(header, "imgId", csv_file);
  const size_t prompt_column = column_index(header, "prompt", csv_file);

  std::vector<DatasetItem> items;
  std::map<std::string, int64_t> first_line;  // every id that has a row
  for (size_t r = 1; r < records.size(); ++r) {
    const CsvRecord& record = records[r];
    const std::string where = file_line(csv_file, record.line);
    if (!record.valid_utf8) {
      problems.report(where, "the row is not valid UTF-8");
      continue;
    }
    if (record.fields.size() != header.fields.size()) {
      problems.report(where, "the row has " + std::to_string(record.fields.size()) + " fields, the header " +
                                 std::to_string(header.fields.size()));
      continue;
    }
    const std::string& id = record.fields[id_column];
    const std::string& prompt = record.fields[prompt_column];
    if (id.empty()) {
      problems.report(where, "empty imgId");
      continue;
    }
    std::string escape = escapes_folder(id);
    if (escape.empty() && id.find_first_of("/\\") != std::string::npos) escape = "is not a plain file name";
    if (!escape.empty()) {
      problems.report(where, "imgId '" + id + "' " + escape + " (it would name a file outside " + image_dir.string() + ")");
      continue;
    }
    if (auto [it, added] = first_line.emplace(id, record.line); !added) {
      problems.report(where, "duplicate imgId '" + id + "' (first on line " + std::to_string(it->second) + ")");
      continue;
    }
    if (is_blank(prompt)) {
      problems.report(where, "empty prompt for imgId '" + id + "'");
      continue;
    }
    auto image = images.find(id);
    if (image == images.end()) {
      problems.report(where, "imgId '" + id + "' has no image in " + image_dir.string());
      continue;
    }
    items.push_back({id, image->second, {prompt}});
  }
  for (const auto& [id, file] : images)
    if (!first_line.count(id)) problems.report(file.string(), "image has no row in " + csv_file.string());
  return items;
}

}  // namespace capbench
