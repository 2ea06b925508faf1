#include "app/report/report_model.h"

#include <doctest/doctest.h>

#include "core/error.h"
#include "sample_results.h"

using namespace capbench;
using namespace capbench::report;
using capbench::testing::TempDir;

namespace {

std::vector<std::string> run_ids(const ReportModel& model) {
  std::vector<std::string> ids;
  for (const RunReport& r : model.runs) ids.push_back(r.ranked.run.id);
  return ids;
}

size_t image_named(const ReportModel& model, const std::string& id) {
  for (size_t i = 0; i < model.images.size(); ++i)
    if (model.images[i].image.id == id) return i;
  FAIL("no image " << id);
  return 0;
}

std::string fact(const ReportModel& model, const std::string& what) {
  for (const auto& [key, value] : model.facts)
    if (key == what) return value;
  return "";
}

}  // namespace

TEST_CASE("runs are ranked as the leaderboard ranks them; unscored and empty runs come last") {
  TempDir dir;
  testing::write_sample_results(dir / "results.sqlite");
  ResultsStore store(dir / "results.sqlite");
  ReportModel model = build_report_model(store, {});
  CHECK(model.metric == "cosine");
  CHECK(model.metrics == std::vector<std::string>{"cosine", "bleu4"});
  CHECK(run_ids(model) == std::vector<std::string>{"bbbbbbbbbbbb", "aaaaaaaaaaaa", "cccccccccccc", "dddddddddddd"});
  CHECK(model.runs[0].summaries.at("cosine").n == 3);
  CHECK(model.runs[0].summaries.at("cosine").mean == doctest::Approx(0.6));
  CHECK(model.runs[2].summaries.empty());
  CHECK(model.runs[3].ranked.images_done == 0);
  CHECK(model.experiment == "sample <sweep>");
  CHECK(model.images_total == 3);
  CHECK(fact(model, "device / dtype") == "cpu fp32");
  CHECK(fact(model, "captioned") == "2024-05-01 12:00 UTC \u00b7 capbench 0.1.0");
  CHECK(fact(model, "swept") == "generate.num_beams, generate.prompt");
}

TEST_CASE("each image has every run's captions (all ranks) and score, and the images worth a look are found") {
  TempDir dir;
  testing::write_sample_results(dir / "results.sqlite");
  ResultsStore store(dir / "results.sqlite");
  ReportModel model = build_report_model(store, {});
  REQUIRE(model.images.size() == 3);
  const ImageReport& one = model.images[image_named(model, "one")];
  REQUIRE(one.runs.size() == 4);
  CHECK(one.runs[0].captions == std::vector<std::string>{"beam 0 of one", "beam 1 of one", "beam 2 of one"});
  CHECK(one.runs[0].score == 0.9);
  CHECK(one.runs[1].captions == std::vector<std::string>{testing::kTrickyCaption});
  CHECK(one.runs[2].captions.size() == 1);
  CHECK_FALSE(one.runs[2].score.has_value());
  CHECK(one.runs[3].captions.empty());
  CHECK(one.disagreement == doctest::Approx(0.4));
  CHECK(model.images[image_named(model, "three")].disagreement == 0.0);
  // Spread: one 0.4, two 0.2, three 0 (not listed). Top run bbbb: one 0.9 best, three 0.4 worst.
  REQUIRE(model.most_disagreement.size() == 2);
  CHECK(model.images[model.most_disagreement[0]].image.id == "one");
  CHECK(model.images[model.most_disagreement[1]].image.id == "two");
  REQUIRE(model.best_of_top.size() == 1);
  CHECK(model.images[model.best_of_top[0]].image.id == "one");
  CHECK(model.images[model.worst_of_top[0]].image.id == "three");
}

TEST_CASE("a numeric setting the runs vary is a sweep, one line per value of the others") {
  TempDir dir;
  testing::write_sample_results(dir / "results.sqlite");
  ResultsStore store(dir / "results.sqlite");
  ReportModel model = build_report_model(store, {});
  REQUIRE(model.sweeps.size() == 1);  // the prompt is not a number
  const SettingSweep& sweep = model.sweeps[0];
  CHECK(sweep.key == "generate.num_beams");
  REQUIRE(sweep.lines.size() == 2);
  CHECK(sweep.lines[0].name == "prompt=\"\"");
  CHECK(sweep.lines[1].name == "prompt=" + nlohmann::json(testing::kTrickyPrompt).dump());
  REQUIRE(sweep.lines[0].points.size() == 2);
  CHECK(sweep.lines[0].points[0].first == 1);
  CHECK(model.runs[sweep.lines[0].points[0].second].ranked.run.id == "aaaaaaaaaaaa");
  CHECK(sweep.lines[0].points[1].first == 3);
}

TEST_CASE("--runs keeps the named runs in ranking order; an unknown id is an error, not a usage error") {
  TempDir dir;
  testing::write_sample_results(dir / "results.sqlite");
  ResultsStore store(dir / "results.sqlite");
  ReportOptions options;
  options.runs = {"cccccccccccc", "aaaaaaaaaaaa"};
  ReportModel model = build_report_model(store, options);
  CHECK(run_ids(model) == std::vector<std::string>{"aaaaaaaaaaaa", "cccccccccccc"});
  CHECK(model.images[0].runs.size() == 2);
  options.runs = {"aaaaaaaaaaaa", "0123456789ab"};
  try {
    build_report_model(store, options);
    FAIL("expected an error");
  } catch (const UsageError&) {
    FAIL("an unknown run is a runtime error (exit 1)");
  } catch (const Error& e) {
    CHECK(std::string(e.what()).find("no run 0123456789ab") != std::string::npos);
  }
  options.runs = {};
  options.metric = "meteor";
  CHECK_THROWS_AS(build_report_model(store, options), UsageError);
}

TEST_CASE("--max-images keeps the images the page links to first") {
  TempDir dir;
  testing::write_sample_results(dir / "results.sqlite");
  ResultsStore store(dir / "results.sqlite");
  ReportOptions options;
  options.max_images = 1;
  ReportModel model = build_report_model(store, options);
  REQUIRE(model.images.size() == 1);
  CHECK(model.images[0].image.id == "one");
  CHECK(model.images_total == 3);
  CHECK(model.most_disagreement == std::vector<size_t>{0});
  CHECK(model.best_of_top == std::vector<size_t>{0});
  CHECK(model.worst_of_top.empty());  // "three" is not in the gallery
}

TEST_CASE("an empty database gives an empty model") {
  TempDir dir;
  ResultsStore store(dir / "results.sqlite");
  ReportModel model = build_report_model(store, {});
  CHECK(model.runs.empty());
  CHECK(model.images.empty());
  CHECK(model.metric.empty());
  CHECK(model.sweeps.empty());
}
