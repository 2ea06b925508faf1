#pragma once
// `capbench report` as a function: the report of a results database written
// to one HTML file. Also for other commands that end a sweep (e.g. after a
// merge) and want the page next to the database.
#include <cstdint>
#include <filesystem>

#include "app/report/report_model.h"
#include "app/results_store.h"

namespace capbench::report {

struct ReportWritten {
  std::filesystem::path file;
  uint64_t bytes = 0;
  size_t runs = 0, images = 0, thumbnails = 0;  // thumbnails: images whose file could be read
  double seconds = 0;
};

// Writes the report of `store` to `html` (through a temporary file beside it,
// renamed into place). Throws as build_report_model does, and Error when the
// file cannot be written.
ReportWritten write_report(const ResultsStore& store, const std::filesystem::path& html, const ReportOptions& options = {});

}  // namespace capbench::report
