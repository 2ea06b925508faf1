#pragma once
// Datasets: where images and their ground-truth texts come from. Every kind
// yields items in a stable order (by id), then applies shuffle and limit.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "core/settings.h"

namespace capbench {

struct DatasetItem {
  std::string id;                       // imgId (sdip), image id (coco), file stem (folder)
  std::filesystem::path image;          // absolute or relative to the working directory
  std::vector<std::string> references;  // ground-truth texts; empty for `folder`
};

struct SkippedItem {
  std::string where;    // "data/prompts.csv:17" or the image path
  std::string message;  // what was wrong
};

struct Dataset {
  std::vector<DatasetItem> items;
  std::vector<SkippedItem> skipped;  // filled with on_error = "skip"; with "fail" the first problem throws
  bool skip_errors = false;          // on_error = "skip": an image that fails later (decoding) is left out too
};

// Reads the dataset described by `table` (an experiment's `dataset` table:
// kind = "sdip" | "coco" | "folder", root, limit (0: every item), shuffle, seed, on_error, ...).
// Relative paths are resolved against `base_dir` (the experiment file's folder).
// Reads every key it knows; the caller calls table.check_all_used().
Dataset load_dataset(Settings& table, const std::filesystem::path& base_dir);

}  // namespace capbench
