#pragma once
// What dataset readers share: how bad data is reported (on_error = "fail":
// the first problem throws; "skip": each is recorded and its item left out),
// where image files are, and which ids may name a file.
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "datasets/dataset.h"

namespace capbench {

class DataProblems {
 public:
  explicit DataProblems(bool skip) : skip_(skip) {}
  // Throws Error("<where>: <message>") when failing, else records the problem.
  void report(const std::string& where, const std::string& message);
  std::vector<SkippedItem>& skipped() { return skipped_; }

 private:
  bool skip_;
  std::vector<SkippedItem> skipped_;
};

// "file.csv:17"
std::string file_line(const std::filesystem::path& file, int64_t line);

// Image files (png, jpg, jpeg, webp, bmp; any case) directly inside `folder`,
// sorted by name. Throws Error when the folder does not exist.
std::vector<std::filesystem::path> image_files_in(const std::filesystem::path& folder);

// Empty when `relative` stays inside the folder it is relative to, else why not
// ("is an absolute path", "leaves the image folder").
std::string escapes_folder(const std::string& relative);

// `path` when absolute, else base / path.
std::filesystem::path resolve_path(const std::filesystem::path& base, const std::string& path);

// The readers behind load_dataset: items in file order; shuffle and limit are applied by the caller.
std::vector<DatasetItem> read_sdip(Settings& table, const std::filesystem::path& base_dir, DataProblems& problems);
std::vector<DatasetItem> read_coco(Settings& table, const std::filesystem::path& base_dir, DataProblems& problems);
std::vector<DatasetItem> read_folder(Settings& table, const std::filesystem::path& base_dir, DataProblems& problems);

}  // namespace capbench
