// The report page's structure: every run and image present, text escaped,
// Unicode kept, unscored and empty runs shown as such, nothing loaded from
// outside the file.
#include "app/report/write_report.h"

#include <doctest/doctest.h>

#include "app/report/html.h"
#include "core/error.h"
#include "sample_results.h"

using namespace capbench;
using namespace capbench::report;
using capbench::testing::TempDir;

namespace {

size_t count(const std::string& text, const std::string& part) {
  size_t n = 0;
  for (size_t at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++n;
  return n;
}

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

struct Written {
  ReportWritten info;
  std::string html;
};

Written sample_report(const TempDir& dir, const ReportOptions& options = {}) {
  testing::write_sample_results(dir / "results.sqlite", testing::source_dir() / "experiments/demo/images/chelsea.png");
  ResultsStore store(dir / "results.sqlite");
  ReportWritten info = write_report(store, dir / "report.html", options);
  return {info, testing::read_text(dir / "report.html")};
}

}  // namespace

TEST_CASE("one HTML document with every run, in ranking order, and every image") {
  TempDir dir;
  Written w = sample_report(dir);
  CHECK(w.html.rfind("<!DOCTYPE html>", 0) == 0);
  CHECK(has(w.html, "</html>"));
  CHECK(w.info.bytes == w.html.size());
  CHECK(w.info.runs == 4);
  CHECK(w.info.images == 3);
  CHECK(w.info.thumbnails == 1);
  size_t previous = 0;
  for (const char* id : {"bbbbbbbbbbbb", "aaaaaaaaaaaa", "cccccccccccc", "dddddddddddd"}) {
    const std::string row = std::string("<tr id=\"run-") + id + "\"";
    CHECK_MESSAGE(count(w.html, row) == 1, id);
    CHECK_MESSAGE(w.html.find(row) > previous, id);
    previous = w.html.find(row);
    CHECK_MESSAGE(count(w.html, std::string("href=\"#run-") + id + "\"") >= 3, id);  // gallery rows link to it
  }
  CHECK(count(w.html, "<article class=\"card\"") == 3);
  for (const char* image : {"one", "two", "three"}) CHECK_MESSAGE(has(w.html, std::string("<h3>") + image + "</h3>"), image);
  CHECK(count(w.html, "<svg class=\"chart\"") == 3);  // per run, against speed, along num_beams
  CHECK(has(w.html, "sample &lt;sweep&gt;"));
}

TEST_CASE("captions, prompts and references are escaped; Unicode is kept as it is") {
  TempDir dir;
  Written w = sample_report(dir);
  CHECK(has(w.html, html_escape(testing::kTrickyCaption)));
  CHECK_FALSE(has(w.html, testing::kTrickyCaption));
  CHECK_FALSE(has(w.html, "<script>alert"));
  CHECK(count(w.html, "<script>") == 1);  // the page's own sorting script
  const std::string prompt_label = "prompt=" + nlohmann::json(testing::kTrickyPrompt).dump();  // as the run's label has it
  CHECK(has(w.html, html_escape(prompt_label)));
  CHECK_FALSE(has(w.html, prompt_label));
  CHECK_FALSE(has(w.html, "<b>photo"));
  CHECK(has(w.html, "a &quot;red&quot; &lt;fox&gt; &amp; &#39;dog&#39;"));
  CHECK(has(w.html, testing::kUnicodeReference));
  CHECK(has(w.html, "<meta charset=\"utf-8\">"));
}

TEST_CASE("every caption of a multi-caption run; unscored and image-less runs say so") {
  TempDir dir;
  Written w = sample_report(dir);
  CHECK(has(w.html, "beam 0 of one<ol class=\"alternatives\" start=\"2\"><li>beam 1 of one</li><li>beam 2 of one</li></ol>"));
  CHECK(has(w.html, "unscored caption one"));
  CHECK(count(w.html, "not scored yet") == 2);      // the bars of cccc and dddd
  CHECK(count(w.html, "not captioned yet") == 4);   // dddd on each image, cccc on "three"
  CHECK(count(w.html, "<span class=\"chip none\">") == 6);
  CHECK(count(w.html, "<span class=\"badge incomplete\">") == 2);
  CHECK(has(w.html, "2 of 4 runs are incomplete"));
}

TEST_CASE("self-contained: one embedded thumbnail, placeholders for unreadable files, nothing from the network") {
  TempDir dir;
  Written w = sample_report(dir);
  CHECK(count(w.html, "src=\"data:image/jpeg;base64,") == 1);
  CHECK(count(w.html, "image not readable:") == 2);
  CHECK(count(w.html, "http") == count(w.html, "http://www.w3.org/2000/svg"));  // SVG's namespace name only
  CHECK_FALSE(has(w.html, "<link"));
  CHECK_FALSE(has(w.html, "@import"));
  CHECK_FALSE(has(w.html, "url("));
  CHECK_FALSE(has(w.html, "<script src"));
}

TEST_CASE("the jump links lead to cards of the gallery") {
  TempDir dir;
  Written w = sample_report(dir);
  CHECK(has(w.html, "Where the runs disagree most"));
  for (size_t i = 0; i < 3; ++i) CHECK(has(w.html, "id=\"img-" + std::to_string(i) + "\""));
  CHECK(has(w.html, "<a href=\"#img-0\">one<span>0.400</span></a>"));  // "one" comes first by id, spread 0.9 - 0.5
}

TEST_CASE("a database with a run but no images, and one with nothing at all, still make a page") {
  TempDir dir;
  {
    ResultsStore store(dir / "results.sqlite");
    store.put_run(testing::sample_run("aaaaaaaaaaaa", 0, 1, ""));
  }
  ResultsStore store(dir / "results.sqlite");
  ReportWritten info = write_report(store, dir / "report.html");
  std::string html = testing::read_text(dir / "report.html");
  CHECK(info.runs == 1);
  CHECK(info.images == 0);
  CHECK(has(html, "<tr id=\"run-aaaaaaaaaaaa\""));
  CHECK(has(html, "The database has no images yet."));
  CHECK(has(html, "Nothing to chart"));

  TempDir empty;
  ResultsStore nothing(empty / "results.sqlite");
  CHECK(write_report(nothing, empty / "report.html").runs == 0);
  CHECK(has(testing::read_text(empty / "report.html"), "</html>"));
}

TEST_CASE("ids from the database are escaped too") {
  TempDir dir;
  {
    ResultsStore store(dir / "results.sqlite");
    store.put_run(testing::sample_run("run\"<id>", 0, 1, ""));
    store.put_image({"image'<&>", "missing.png", {}});
    store.put_prediction({"run\"<id>", "image'<&>", 0, "a caption", {}, -1, 1});
  }
  ResultsStore store(dir / "results.sqlite");
  write_report(store, dir / "report.html");
  std::string html = testing::read_text(dir / "report.html");
  CHECK_FALSE(has(html, "run\"<id>"));
  CHECK(has(html, "id=\"run-run&quot;&lt;id&gt;\""));
  CHECK_FALSE(has(html, "image'<&>"));
  CHECK(has(html, "<h3>image&#39;&lt;&amp;&gt;</h3>"));
}

TEST_CASE("a report that cannot be written is an error naming the file") {
  TempDir dir;
  ResultsStore store(dir / "results.sqlite");
  CHECK_THROWS_AS(write_report(store, dir / "no-such-folder" / "report.html"), Error);
}
