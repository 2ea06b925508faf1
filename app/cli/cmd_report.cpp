#include <fmt/format.h>
#include <iostream>

#include "app/cli/command.h"
#include "app/cli/experiment_cli.h"
#include "app/report/write_report.h"
#include "app/results_store.h"
#include "core/error.h"

namespace capbench::cli {

namespace {

std::string size_text(uint64_t bytes) {
  if (bytes < 1024 * 1024) return fmt::format("{:.0f} KiB", bytes / 1024.0);
  return fmt::format("{:.1f} MiB", bytes / (1024.0 * 1024.0));
}

}  // namespace

int run_report(const std::vector<std::string>& args) {
  po::options_description options("report options");
  options.add_options()("dir", po::value<std::string>()->required(), "output folder of capbench run (or its results.sqlite)")(
      "output", po::value<std::string>(), "HTML file to write (default: DIR/report.html)")(
      "metric", po::value<std::string>(), "metric to rank, chart and colour by (default: cosine, else the first one scored)")(
      "runs", po::value<std::string>(), "only these run ids (comma-separated)")(
      "max-images", po::value<int64_t>()->default_value(0),
      "images in the gallery at most (0: all); those the page links to (most disagreement, best, worst) come first");
  po::positional_options_description positional;
  positional.add("dir", 1);
  po::variables_map vm;
  if (!parse(args, command("report"), options, positional, vm)) return 0;
  if (vm["max-images"].as<int64_t>() < 0) throw UsageError("--max-images must be 0 (all) or more");

  const std::filesystem::path database = results_file(vm["dir"].as<std::string>());
  ResultsStore store(database);
  report::ReportOptions wanted;
  if (vm.count("metric")) wanted.metric = vm["metric"].as<std::string>();
  if (vm.count("runs")) wanted.runs = split_list(vm["runs"].as<std::string>());
  wanted.max_images = vm["max-images"].as<int64_t>();
  const std::filesystem::path html =
      vm.count("output") ? std::filesystem::path(vm["output"].as<std::string>()) : database.parent_path() / "report.html";
  const report::ReportWritten written = report::write_report(store, html, wanted);
  std::cerr << "capbench report: " << written.runs << " runs, " << written.images << " images (" << written.thumbnails
            << " thumbnails), " << size_text(written.bytes) << " in " << fmt::format("{:.2f}", written.seconds) << " s\n";
  if (written.thumbnails < written.images)
    std::cerr << "capbench report: " << written.images - written.thumbnails
              << " image files could not be read; their cards say which\n";
  std::cout << written.file.string() << "\n";
  return 0;
}

}  // namespace capbench::cli
