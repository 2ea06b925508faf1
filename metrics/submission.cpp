#include "metrics/submission.h"

#include <ATen/ATen.h>

#include <charconv>
#include <cstdio>
#include <fstream>

#include "core/csv.h"
#include "core/error.h"

namespace capbench {

namespace fs = std::filesystem;

void write_submission(const fs::path& path, const std::vector<std::string>& ids, const at::Tensor& embeddings) {
  if (embeddings.dim() != 2 || embeddings.size(0) != static_cast<int64_t>(ids.size()))
    throw Error("submission: " + std::to_string(ids.size()) + " ids but embeddings of shape " +
                c10::str(embeddings.sizes()));
  for (const std::string& id : ids)
    if (id.empty() || id.find_first_of(",\"\r\n") != std::string::npos)
      throw Error("submission: image id '" + id + "' cannot be written in an imgId_eId row");
  at::Tensor rows = embeddings.to(at::kCPU, at::kFloat);
  rows = (rows / rows.norm(2, {1}, true).clamp_min(1e-12)).contiguous();
  const float* values = rows.data_ptr<float>();
  const int64_t dimension = rows.size(1);

  const fs::path temporary = path.string() + ".tmp";
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    if (!out) throw Error(temporary.string() + ": cannot write the submission");
    out << "imgId_eId,val\n";
    char number[64];
    for (size_t i = 0; i < ids.size(); ++i) {
      for (int64_t e = 0; e < dimension; ++e) {
        const auto [end, ec] = std::to_chars(number, number + sizeof number, values[i * dimension + e]);
        out << ids[i] << '_' << e << ',';
        out.write(number, end - number);
        out << '\n';
      }
    }
    out.flush();
    if (!out) throw Error(temporary.string() + ": writing the submission failed");
  }
  std::error_code ec;
  fs::rename(temporary, path, ec);
  if (ec) {
    fs::remove(temporary);
    throw Error(path.string() + ": cannot move the submission into place: " + ec.message());
  }
}

Submission read_submission(const fs::path& path) {
  const std::vector<CsvRecord> records = read_csv_file(path);
  if (records.empty() || records[0].fields != std::vector<std::string>{"imgId_eId", "val"})
    throw Error(path.string() + ":1: expected the header imgId_eId,val");
  Submission submission;
  std::vector<float> values;
  int64_t dimension = -1;
  int64_t next_e = 0;
  for (size_t r = 1; r < records.size(); ++r) {
    const CsvRecord& record = records[r];
    const std::string where = path.string() + ":" + std::to_string(record.line);
    if (record.fields.size() != 2) throw Error(where + ": expected 2 fields");
    const std::string& key = record.fields[0];
    const size_t underscore = key.rfind('_');
    if (underscore == std::string::npos) throw Error(where + ": '" + key + "' is not imgId_eId");
    const std::string id = key.substr(0, underscore);
    int64_t e = -1;
    const std::string e_text = key.substr(underscore + 1);
    auto parsed = std::from_chars(e_text.data(), e_text.data() + e_text.size(), e);
    if (parsed.ec != std::errc() || parsed.ptr != e_text.data() + e_text.size())
      throw Error(where + ": '" + key + "' is not imgId_eId");
    if (e == 0) {
      if (!submission.ids.empty() && dimension < 0) dimension = next_e;
      if (!submission.ids.empty() && next_e != dimension) throw Error(where + ": the previous image has too few rows");
      submission.ids.push_back(id);
      next_e = 0;
    } else if (submission.ids.empty() || id != submission.ids.back() || e != next_e) {
      throw Error(where + ": expected " + (submission.ids.empty() ? std::string("eId 0") : submission.ids.back() + "_" +
                                                                                             std::to_string(next_e)));
    }
    float value = 0;
    const std::string& text = record.fields[1];
    auto number = std::from_chars(text.data(), text.data() + text.size(), value);
    if (number.ec != std::errc() || number.ptr != text.data() + text.size())
      throw Error(where + ": '" + text + "' is not a number");
    values.push_back(value);
    ++next_e;
  }
  if (dimension < 0) dimension = next_e;
  if (!submission.ids.empty() && next_e != dimension)
    throw Error(path.string() + ": the last image has " + std::to_string(next_e) + " rows, not " +
                std::to_string(dimension));
  const auto n = static_cast<int64_t>(submission.ids.size());
  submission.embeddings = at::from_blob(values.data(), {n, n ? dimension : 0}, at::kFloat).clone();
  return submission;
}

}  // namespace capbench
