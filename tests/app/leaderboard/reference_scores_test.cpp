// The leaderboard's reference rows (ground truth against itself, "a photo" for
// every image): their values with a scorer whose vectors are known, and when
// stored rows are reused, recomputed or withheld.
#include <doctest/doctest.h>

#include <ATen/ATen.h>
#include <sys/wait.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>

#include "app/leaderboard/reference_scores.h"
#include "tests/test_support.h"

using namespace capbench;

namespace {

// Two-dimensional embeddings chosen by text; counts the texts it embeds.
class KnownVectors : public SentenceEmbedder {
 public:
  at::Tensor embed(const std::vector<std::string>& texts) override {
    static const std::map<std::string, std::pair<float, float>> vectors = {
        {"x", {1, 0}}, {"y", {0, 2}}, {"z", {1, 1}}, {kGenericPrompt, {3, 0}}};
    at::Tensor out = at::zeros({static_cast<int64_t>(texts.size()), 2});
    for (size_t i = 0; i < texts.size(); ++i) {
      const auto& v = vectors.at(texts[i]);
      out[static_cast<int64_t>(i)][0] = v.first;
      out[static_cast<int64_t>(i)][1] = v.second;
    }
    embedded += texts.size();
    return out;
  }
  int64_t dimension() const override { return 2; }
  size_t embedded = 0;
};

std::string leaderboard(const std::string& args) {
  const char* bin = std::getenv("CAPBENCH_BIN");
  REQUIRE_MESSAGE(bin != nullptr, "CAPBENCH_BIN is set by CTest");
  FILE* pipe = popen((std::string(bin) + " leaderboard " + args + " 2>&1").c_str(), "r");
  REQUIRE(pipe != nullptr);
  std::string output;
  std::array<char, 4096> buffer{};
  while (size_t n = fread(buffer.data(), 1, buffer.size(), pipe)) output.append(buffer.data(), n);
  REQUIRE(pclose(pipe) == 0);
  return output;
}

const std::vector<StoredImage> kImages = {
    {"one", "one.png", {"x"}}, {"two", "two.png", {"y", "z"}}, {"none", "none.png", {}}};

}  // namespace

TEST_CASE("ground truth scores its first reference against all of them; \"a photo\" is scored for every image") {
  KnownVectors scorer;
  const std::vector<ReferenceScore> rows = compute_reference_scores(kImages, scorer);
  REQUIRE(rows.size() == 2);
  const double half_root2 = std::sqrt(0.5);
  CHECK(rows[0].name == "ground truth");
  CHECK(rows[0].images == 2);  // the image without ground truth is left out, as runs leave it out
  CHECK(rows[0].cosine == doctest::Approx((1.0 + (1.0 + half_root2) / 2) / 2).epsilon(1e-12));
  CHECK(rows[1].name == "\"a photo\"");
  CHECK(rows[1].cosine == doctest::Approx((1.0 + (0.0 + half_root2) / 2) / 2).epsilon(1e-12));
  CHECK(scorer.embedded == 4);  // each reference once, the generic prompt once
  CHECK(compute_reference_scores({kImages[2]}, scorer).empty());
}

TEST_CASE("stored rows are reused for the same images and scorer, withheld for other images or another scorer") {
  testing::TempDir dir;
  ResultsStore store(dir / "results.sqlite");
  for (const StoredImage& image : kImages) store.put_image(image);
  store.set_meta("scorer_checkpoint", "/models/scorer");
  KnownVectors scorer;
  CHECK(stored_reference_scores(store).empty());
  update_reference_scores(store, scorer, "/models/scorer");
  REQUIRE(stored_reference_scores(store).size() == 2);
  const size_t embedded = scorer.embedded;
  update_reference_scores(store, scorer, "/models/scorer");
  CHECK(scorer.embedded == embedded);  // nothing changed: nothing recomputed

  store.set_meta("scorer_checkpoint", "/models/other");
  CHECK(stored_reference_scores(store).empty());
  update_reference_scores(store, scorer, "/models/other");
  CHECK(scorer.embedded > embedded);
  CHECK(stored_reference_scores(store).size() == 2);

  store.put_image({"three", "three.png", {"z"}});  // e.g. a merged shard's images
  CHECK(stored_reference_scores(store).empty());
  update_reference_scores(store, scorer, "/models/other");
  REQUIRE(stored_reference_scores(store).size() == 2);
  CHECK(stored_reference_scores(store)[0].images == 3);
}

TEST_CASE("the leaderboard table shows the reference rows among the runs by cosine; CSV and JSON list runs only") {
  testing::TempDir dir;
  {
    ResultsStore store(dir / "results.sqlite");
    store.set_meta("metrics", "[\"cosine\"]");
    for (const StoredImage& image : kImages) store.put_image(image);
    const std::vector<std::pair<std::string, double>> runs = {{"aaaaaaaaaaaa", 0.95}, {"bbbbbbbbbbbb", 0.5}};
    for (size_t i = 0; i < runs.size(); ++i) {
      store.put_run({runs[i].first, static_cast<int64_t>(i), "run " + std::to_string(i), "", "{}", "{}"});
      for (const StoredImage& image : kImages) store.put_prediction({runs[i].first, image.id, 0, "x", {}, 0, 1});
      store.put_run_metric({runs[i].first, "cosine", runs[i].second, 2});
    }
    KnownVectors scorer;
    update_reference_scores(store, scorer, "/models/scorer");  // ground truth 0.93, "a photo" 0.68
  }
  const std::string table = leaderboard(dir.path().string());
  const size_t first = table.find("aaaaaaaaaaaa"), truth = table.find("reference: ground truth"),
               floor = table.find("reference: \"a photo\""), second = table.find("bbbbbbbbbbbb");
  REQUIRE(floor != std::string::npos);
  CHECK(first < truth);   // 0.95 above the ceiling of 0.93
  CHECK(truth < floor);
  CHECK(floor < second);  // 0.5 below the floor of 0.68
  CHECK(table.find("ref rows are not runs") != std::string::npos);
  CHECK(leaderboard(dir.path().string() + " --format markdown").find("|  ref |") != std::string::npos);
  CHECK(leaderboard(dir.path().string() + " --format csv").find("reference") == std::string::npos);
  CHECK(leaderboard(dir.path().string() + " --format json").find("reference") == std::string::npos);
}
