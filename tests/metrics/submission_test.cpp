// The Kaggle submission file: a 3-image sdip folder embedded with a 384-d
// model gives 1 + 3 x 384 lines that read back to the normalised embeddings.
#include "metrics/submission.h"

#include <doctest/doctest.h>
#include <toml++/toml.h>
#include <torch/torch.h>

#include <fstream>

#include "bench/random_minilm_model.h"
#include "core/error.h"
#include "core/plugin_loader.h"
#include "datasets/dataset.h"
#include "metrics/scorer.h"
#include "tests/test_support.h"

namespace fs = std::filesystem;

namespace {

using capbench::testing::TempDir;

std::vector<std::string> lines_of(const fs::path& file) {
  std::ifstream in(file);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

}  // namespace

TEST_CASE("a 3-image sdip folder gives 1,153 lines that parse back to the embeddings") {
  TempDir dir;
  const fs::path images = capbench::testing::fixture("images");
  fs::create_directories(dir.path() / "sdip/images");
  fs::copy_file(images / "rgb_640x480.png", dir.path() / "sdip/images/f1a2b3.png");
  fs::copy_file(images / "rgba_180x120.png", dir.path() / "sdip/images/0c9d8e.png");
  fs::copy_file(images / "gray_200x256.jpg", dir.path() / "sdip/images/77aa00.jpg");
  std::ofstream(dir.path() / "sdip/prompts.csv")
      << "imgId,prompt\nf1a2b3,\"a red car, parked\"\n0c9d8e,\"a \"\"quoted\"\" cat\"\n77aa00,\"a gray\nsquare\"\n";
  capbench::Settings table(toml::table{{"kind", "sdip"}, {"root", "sdip"}}, "[dataset]");
  const capbench::Dataset dataset = capbench::load_dataset(table, dir.path());
  REQUIRE(dataset.items.size() == 3);

  // all-MiniLM-L6-v2's output size with one random layer, and minilm-tiny's vocabulary.
  std::ifstream vocab_in(capbench::testing::fixture("minilm-tiny/vocab.txt"));
  std::vector<std::string> vocab;
  for (std::string token; std::getline(vocab_in, token);) vocab.push_back(token);
  capbench::bench::RandomMiniLMSpec spec;
  spec.layers = 1;
  spec.intermediate = 64;
  spec.vocab_size = static_cast<int64_t>(vocab.size());
  capbench::bench::write_random_minilm(dir.path() / "model", spec, vocab);
  capbench::ScorerOptions options;
  options.model = dir.path() / "model";
  options.device = "cpu";
  const auto embedder = capbench::load_scorer(options);
  REQUIRE(embedder->dimension() == 384);

  std::vector<std::string> ids, prompts;
  for (const auto& item : dataset.items) {
    ids.push_back(item.id);
    prompts.push_back(item.references[0]);
  }
  const at::Tensor embeddings = embedder->embed(prompts);
  const fs::path file = dir.path() / "submission.csv";
  capbench::write_submission(file, ids, embeddings * 3.0);  // the writer normalises

  const std::vector<std::string> lines = lines_of(file);
  REQUIRE(lines.size() == 1153);
  CHECK(lines[0] == "imgId_eId,val");
  CHECK(lines[1].rfind("0c9d8e_0,", 0) == 0);  // dataset order: sorted by id
  CHECK(lines[384].rfind("0c9d8e_383,", 0) == 0);
  CHECK(lines[385].rfind("77aa00_0,", 0) == 0);
  CHECK(lines[1152].rfind("f1a2b3_383,", 0) == 0);

  const capbench::Submission back = capbench::read_submission(file);
  CHECK(back.ids == ids);
  const at::Tensor unit = embeddings / embeddings.norm(2, {1}, true);
  CHECK((back.embeddings - unit).abs().max().item<double>() < 1e-6);
  CHECK((back.embeddings.norm(2, {1}) - 1).abs().max().item<double>() < 1e-5);
}

TEST_CASE("values are written so that they read back as the same float") {
  TempDir dir;
  const at::Tensor values = torch::tensor({{0.1f, -1e-8f, 1.0f / 3.0f}, {3e-39f, 0.5f, -0.25f}});
  const at::Tensor unit = values / values.norm(2, {1}, true);
  capbench::write_submission(dir.path() / "s.csv", {"a", "b_c"}, unit);
  const capbench::Submission back = capbench::read_submission(dir.path() / "s.csv");
  CHECK(back.ids == std::vector<std::string>{"a", "b_c"});
  CHECK(torch::equal(back.embeddings, (unit / unit.norm(2, {1}, true).clamp_min(1e-12))));
}

TEST_CASE("bad inputs and malformed files are errors") {
  TempDir dir;
  CHECK_THROWS_AS(capbench::write_submission(dir.path() / "s.csv", {"a"}, torch::ones({2, 3})), capbench::Error);
  CHECK_THROWS_AS(capbench::write_submission(dir.path() / "s.csv", {"a,b"}, torch::ones({1, 3})), capbench::Error);
  std::ofstream(dir.path() / "bad.csv") << "imgId_eId,val\na_0,1\na_2,1\n";
  CHECK_THROWS_WITH_AS(capbench::read_submission(dir.path() / "bad.csv"), doctest::Contains("bad.csv:3"),
                       capbench::Error);
  std::ofstream(dir.path() / "short.csv") << "imgId_eId,val\na_0,1\na_1,1\nb_0,1\n";
  CHECK_THROWS_WITH_AS(capbench::read_submission(dir.path() / "short.csv"), doctest::Contains("last image has 1 rows"),
                       capbench::Error);
}
