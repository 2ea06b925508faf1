// `capbench submit` end to end: the Kaggle file of a run of a sweep made
// through the real plugins, and of a predictions file, parsed back here: its
// header, one row per image and embedding dimension, each value the scorer's
// embedding of the caption.
#include <doctest/doctest.h>
#include <torch/torch.h>

#include <sstream>

#include "app/results_store.h"
#include "core/checkpoint.h"
#include "core/json_file.h"
#include "tests/app/cli/sweep_fixture.h"

using namespace capbench;
using namespace capbench::testing;
namespace fs = std::filesystem;

namespace {

// imgId -> its values in eId order, read here from the CSV text.
std::map<std::string, std::vector<float>> parse_submission(const fs::path& file, std::vector<std::string>& order) {
  std::istringstream in(read_text(file));
  std::string line;
  REQUIRE(std::getline(in, line));
  CHECK(line == "imgId_eId,val");
  std::map<std::string, std::vector<float>> out;
  while (std::getline(in, line)) {
    const size_t comma = line.find(','), underscore = line.rfind('_', comma);
    REQUIRE(comma != std::string::npos);
    REQUIRE(underscore != std::string::npos);
    const std::string id = line.substr(0, underscore);
    if (order.empty() || order.back() != id) order.push_back(id);
    std::vector<float>& values = out[id];
    CHECK(std::stoul(line.substr(underscore + 1, comma - underscore - 1)) == values.size());
    values.push_back(std::stof(line.substr(comma + 1)));
  }
  return out;
}

std::vector<float> embedding(const std::string& text) {
  return json_per_text({"embed", "--model", fixture("minilm-tiny").string(), "--device", "cpu", "--json"}, {text})[0]
                       ["embedding"].get<std::vector<float>>();
}

double max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  REQUIRE(a.size() == b.size());
  return (torch::tensor(a) - torch::tensor(b)).abs().max().item<double>();
}

}  // namespace

TEST_CASE("submit DIR --run ID: every image's row block is the scorer's embedding of the run's caption") {
  SweepFixture sweep;
  REQUIRE(sweep.run().status == 0);
  ResultsStore store(sweep.output() / "results.sqlite");
  const std::string run = store.runs().at(3).id;
  const fs::path file = sweep.dir() / "submission.csv";
  const CliResult r = capbench_cli({"submit", sweep.output().string(), "--run", run, "--output", file.string()});
  CAPTURE(r.err);
  REQUIRE(r.status == 0);
  CHECK(r.err == "capbench submit: wrote " + file.string() + "\n");
  std::vector<std::string> order;
  const auto values = parse_submission(file, order);
  CHECK(order == std::vector<std::string>{"img1", "img2"});
  for (const StoredPrediction& p : store.predictions(run)) {
    CAPTURE(p.caption);
    REQUIRE(values.count(p.image));
    CHECK(values.at(p.image).size() == 32);  // minilm-tiny's dimension (all-MiniLM-L6-v2: 384)
    CHECK(max_abs_diff(values.at(p.image), embedding(p.caption)) < 1e-6);
  }
  // The run's own submission file, written by `run` (output.submission = true), is the same.
  CHECK(read_text(sweep.output() / ("submission-" + run + ".csv")) == read_text(file));
}

TEST_CASE("submit --predictions: a predictions file embedded as sentence-transformers does") {
  const std::vector<std::string> sentences =
      read_json_file(fixture("minilm-tiny/references.json"))["sentences"].get<std::vector<std::string>>();
  const at::Tensor reference = Checkpoint::open(fixture("minilm-tiny/references.safetensors")).view("embeddings");
  TempDir dir;
  write_text(dir / "pred.csv", "imgId,prompt\nb," + sentences[1] + "\na," + sentences[3] + "\n");
  const CliResult r = capbench_cli({"submit", "--predictions", (dir / "pred.csv").string(), "--scorer",
                                    fixture("minilm-tiny").string(), "--device", "cpu", "--output",
                                    (dir / "s.csv").string()});
  CAPTURE(r.err);
  REQUIRE(r.status == 0);
  std::vector<std::string> order;
  const auto values = parse_submission(dir / "s.csv", order);
  CHECK(order == std::vector<std::string>{"b", "a"});
  const at::Tensor row_b = reference[1], row_a = reference[3];
  CHECK(max_abs_diff(values.at("b"), std::vector<float>(row_b.data_ptr<float>(), row_b.data_ptr<float>() + 32)) < 1e-5);
  CHECK(max_abs_diff(values.at("a"), std::vector<float>(row_a.data_ptr<float>(), row_a.data_ptr<float>() + 32)) < 1e-5);
}

TEST_CASE("submit: bad arguments end with one line") {
  SweepFixture sweep;
  REQUIRE(sweep.run().status == 0);
  check_one_line_error(capbench_cli({"submit", sweep.output().string(), "--run", "000000000000"}),
                       "no run '000000000000' (see capbench leaderboard)");
  check_usage_error(capbench_cli({"submit"}), "submit", "give DIR --run ID, or --predictions FILE --scorer DIR");
  check_usage_error(capbench_cli({"submit", "--predictions", "p.csv"}), "submit", "--predictions needs --scorer DIR");
  check_usage_error(capbench_cli({"submit", sweep.output().string(), "--run", "x", "--predictions", "p.csv"}), "submit",
                    "not both");
}
