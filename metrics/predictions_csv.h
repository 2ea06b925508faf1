#pragma once
// Prediction and ground-truth files for `capbench score` and `submit`: CSV with
// a header naming the columns, either `imgId,prompt` (the competition's) or
// `image_id,caption` (COCO-style). Several rows with one id in a ground-truth
// file are several references.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace capbench {

struct TextRow {
  std::string id;
  std::string text;
  int64_t line = 0;  // where the row starts in the file
};

// Every data row, in file order. Throws Error "<file>:<line>: ..." for a
// header with neither column pair, a row with the wrong number of fields, an
// empty id, or text that is not UTF-8.
std::vector<TextRow> read_text_rows(const std::filesystem::path& file);

struct GroupedTexts {
  std::vector<std::string> ids;                  // in order of first appearance
  std::vector<std::vector<std::string>> texts;   // texts[i]: every row of ids[i], in file order
  std::vector<int64_t> first_line;               // first_line[i]: where ids[i] first appears
};

// Rows grouped by id (ground truth with several references per image).
GroupedTexts group_by_id(const std::vector<TextRow>& rows);

}  // namespace capbench
