#include "app/report/write_report.h"

#include <algorithm>
#include <chrono>
#include <ctime>
#include <fmt/chrono.h>
#include <fstream>
#include <future>
#include <thread>

#include "app/report/report_page.h"
#include "app/version.h"
#include "core/error.h"

namespace capbench::report {

namespace fs = std::filesystem;

namespace {

// The file of a stored image path: as stored, else (a relative path written by
// a run started elsewhere) against the database's folder and each one above it.
fs::path locate(const fs::path& stored, const fs::path& database) {
  if (stored.is_absolute() || fs::exists(stored)) return stored;
  for (fs::path dir = fs::absolute(database).parent_path(); !dir.empty(); dir = dir.parent_path()) {
    if (fs::exists(dir / stored)) return dir / stored;
    if (dir == dir.root_path()) break;
  }
  return stored;
}

// Thumbnails of every gallery image, decoded and encoded on all cores (OpenCV's
// codecs are safe to call from several threads).
std::vector<std::optional<Thumbnail>> thumbnails(const ReportModel& model, const fs::path& database) {
  std::vector<std::optional<Thumbnail>> out(model.images.size());
  const size_t workers = std::max(1u, std::min(std::thread::hardware_concurrency(), 8u));
  std::vector<std::future<void>> jobs;
  for (size_t w = 0; w < workers; ++w)
    jobs.push_back(std::async(std::launch::async, [&, w] {
      for (size_t i = w; i < out.size(); i += workers)
        out[i] = make_thumbnail(locate(model.images[i].image.path, database));
    }));
  for (auto& job : jobs) job.get();
  return out;
}

}  // namespace

ReportWritten write_report(const ResultsStore& store, const fs::path& html, const ReportOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  const ReportModel model = build_report_model(store, options);
  const auto images = thumbnails(model, store.file());
  const std::string written = fmt::format("Written {:%Y-%m-%d %H:%M} UTC by capbench {} from {}",
                                          fmt::gmtime(std::time(nullptr)), version(), store.file().filename().string());
  const std::string page = render_report_page(model, images, written);

  const fs::path partial = html.string() + ".partial";
  {
    std::ofstream out(partial, std::ios::binary | std::ios::trunc);
    out.write(page.data(), static_cast<std::streamsize>(page.size()));
    if (!out.flush()) throw Error(partial.string() + ": cannot write the report");
  }
  std::error_code error;
  fs::rename(partial, html, error);
  if (error) {
    fs::remove(partial, error);
    throw Error(html.string() + ": cannot write the report: " + error.message());
  }
  ReportWritten done{html, page.size(), model.runs.size(), model.images.size(), 0, 0};
  done.thumbnails = static_cast<size_t>(std::count_if(images.begin(), images.end(), [](const auto& t) { return t.has_value(); }));
  done.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return done;
}

}  // namespace capbench::report
