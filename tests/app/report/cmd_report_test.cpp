// `capbench report` as a user meets it: the file it writes, and one clear line
// with exit 1 for each kind of bad input.
#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <sys/wait.h>

#include "sample_results.h"

using namespace capbench;
using capbench::testing::TempDir;

namespace {

struct Result {
  int status;
  std::string out, err;
};

Result capbench_report(const std::string& args, const TempDir& dir) {
  const char* bin = std::getenv("CAPBENCH_BIN");
  REQUIRE_MESSAGE(bin != nullptr, "CAPBENCH_BIN is set by CTest");
  const std::string err_file = (dir / "stderr.txt").string();
  FILE* pipe = popen((std::string(bin) + " report " + args + " 2>" + err_file).c_str(), "r");
  REQUIRE(pipe != nullptr);
  std::string out;
  std::array<char, 4096> buffer{};
  while (size_t n = fread(buffer.data(), 1, buffer.size(), pipe)) out.append(buffer.data(), n);
  int status = pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out, testing::read_text(err_file)};
}

size_t lines(const std::string& text) { return static_cast<size_t>(std::count(text.begin(), text.end(), '\n')); }

}  // namespace

TEST_CASE("capbench report DIR writes DIR/report.html and prints its path") {
  TempDir dir;
  std::filesystem::create_directories(dir / "out");
  testing::write_sample_results(dir / "out" / "results.sqlite");
  Result r = capbench_report((dir / "out").string(), dir);
  CHECK(r.status == 0);
  CHECK(r.out == (dir / "out" / "report.html").string() + "\n");
  CHECK(r.err.find("4 runs, 3 images") != std::string::npos);
  CHECK(testing::read_text(dir / "out" / "report.html").find("</html>") != std::string::npos);

  Result custom = capbench_report((dir / "out").string() + " --output " + (dir / "custom.html").string() +
                                      " --metric bleu4 --runs aaaaaaaaaaaa --max-images 1", dir);
  CHECK(custom.status == 0);
  const std::string html = testing::read_text(dir / "custom.html");
  CHECK(html.find("ranked by <b>bleu4</b>") != std::string::npos);
  CHECK(html.find("run-bbbbbbbbbbbb") == std::string::npos);
  CHECK(html.find("Showing 1 of 3 images") != std::string::npos);
}

TEST_CASE("no database, a newer schema, an unknown run: one line each, exit 1") {
  TempDir dir;
  Result missing = capbench_report((dir / "nothing-here").string(), dir);
  CHECK(missing.status == 1);
  CHECK(lines(missing.err) == 1);
  CHECK(missing.err.find("no results database") != std::string::npos);

  testing::write_sample_results(dir / "results.sqlite");
  Result unknown = capbench_report(dir.path().string() + " --runs aaaaaaaaaaaa,0123456789ab", dir);
  CHECK(unknown.status == 1);
  CHECK(lines(unknown.err) == 1);
  CHECK(unknown.err.find("no run 0123456789ab") != std::string::npos);

  { ResultsStore(dir / "results.sqlite").set_meta("schema_version", "3"); }
  Result newer = capbench_report(dir.path().string(), dir);
  CHECK(newer.status == 1);
  CHECK(lines(newer.err) == 1);
  CHECK(newer.err.find("schema version 3") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(dir / "report.html"));
}

TEST_CASE("usage errors exit 2; --help exits 0") {
  TempDir dir;
  testing::write_sample_results(dir / "results.sqlite");
  CHECK(capbench_report(dir.path().string() + " --max-images -1", dir).status == 2);
  CHECK(capbench_report(dir.path().string() + " --metric meteor", dir).status == 2);
  Result help = capbench_report("--help", dir);
  CHECK(help.status == 0);
  CHECK(help.out.find("--max-images") != std::string::npos);
}
