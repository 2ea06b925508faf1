#include "metrics/predictions_csv.h"

#include <algorithm>
#include <unordered_map>

#include "core/csv.h"
#include "core/error.h"

namespace capbench {

namespace {

std::ptrdiff_t column(const std::vector<std::string>& header, const char* name) {
  auto it = std::find(header.begin(), header.end(), name);
  return it == header.end() ? -1 : it - header.begin();
}

}  // namespace

std::vector<TextRow> read_text_rows(const std::filesystem::path& file) {
  const std::vector<CsvRecord> records = read_csv_file(file);
  if (records.empty()) throw Error(file.string() + ": empty file (expected a header imgId,prompt or image_id,caption)");
  const std::vector<std::string>& header = records[0].fields;
  std::ptrdiff_t id = column(header, "imgId"), text = column(header, "prompt");
  if (id < 0 || text < 0) {
    id = column(header, "image_id");
    text = column(header, "caption");
  }
  if (id < 0 || text < 0)
    throw Error(file.string() + ":" + std::to_string(records[0].line) +
                ": the header must name the columns imgId,prompt or image_id,caption");
  std::vector<TextRow> rows;
  for (size_t r = 1; r < records.size(); ++r) {
    const CsvRecord& record = records[r];
    const std::string where = file.string() + ":" + std::to_string(record.line);
    if (!record.valid_utf8) throw Error(where + ": the row is not valid UTF-8");
    if (record.fields.size() != header.size())
      throw Error(where + ": the row has " + std::to_string(record.fields.size()) + " fields, the header " +
                  std::to_string(header.size()));
    if (record.fields[id].empty()) throw Error(where + ": empty id");
    rows.push_back({record.fields[id], record.fields[text], record.line});
  }
  return rows;
}

GroupedTexts group_by_id(const std::vector<TextRow>& rows) {
  GroupedTexts grouped;
  std::unordered_map<std::string, size_t> index;
  for (const TextRow& row : rows) {
    auto [it, added] = index.try_emplace(row.id, grouped.ids.size());
    if (added) {
      grouped.ids.push_back(row.id);
      grouped.texts.emplace_back();
      grouped.first_line.push_back(row.line);
    }
    grouped.texts[it->second].push_back(row.text);
  }
  return grouped;
}

}  // namespace capbench
