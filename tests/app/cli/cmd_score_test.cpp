// `capbench score` end to end: predictions and ground-truth CSV files of the
// pycocoevalcap reference sets (tests/fixtures/metrics) give pycocoevalcap's
// corpus and per-image BLEU, ROUGE-L and CIDEr-D; cosine with the MiniLM scorer
// gives sentence-transformers' cosine.
#include <doctest/doctest.h>
#include <torch/torch.h>

#include <map>
#include <sstream>

#include "core/checkpoint.h"
#include "core/csv.h"
#include "core/json_file.h"
#include "tests/app/cli/cli_test_support.h"

using namespace capbench;
using namespace capbench::testing;

namespace {

const std::map<std::string, std::string> kMetricNames = {{"bleu1", "Bleu_1"}, {"bleu2", "Bleu_2"},
                                                        {"bleu3", "Bleu_3"}, {"bleu4", "Bleu_4"},
                                                        {"rouge_l", "ROUGE_L"}, {"cider", "CIDEr"}};

std::string csv_row(const std::vector<std::string>& fields) {
  std::ostringstream out;
  write_csv_record(out, fields);
  return out.str();
}

// pred.csv (imgId,prompt) and truth.csv (image_id,caption, several rows per id) of one reference case.
void write_case(const nlohmann::json& c, const TempDir& dir) {
  std::string pred = csv_row({"imgId", "prompt"}), truth = csv_row({"image_id", "caption"});
  for (const auto& id : c["image_order"]) {
    pred += csv_row({id, c["res"][id.get<std::string>()][0]});
    for (const auto& reference : c["gts"][id.get<std::string>()]) truth += csv_row({id, reference});
  }
  write_text(dir / "pred.csv", pred);
  write_text(dir / "truth.csv", truth);
}

}  // namespace

TEST_CASE("score --json --per-image: pycocoevalcap's values for the reference caption sets") {
  const nlohmann::json cases = read_json_file(fixture("metrics/references.json"))["cases"];
  int checked = 0;
  for (const auto& c : cases) {
    if (c["name"] != "coco_small" && c["name"] != "sd_prompts") continue;  // the sets without empty captions
    CAPTURE(c["name"]);
    TempDir dir;
    write_case(c, dir);
    const CliResult r = capbench_cli({"score", (dir / "pred.csv").string(), (dir / "truth.csv").string(), "--json",
                                      "--metrics", "bleu1,bleu2,bleu3,bleu4,rouge_l,cider", "--per-image",
                                      (dir / "per.csv").string()});
    CAPTURE(r.err);
    REQUIRE(r.status == 0);
    const nlohmann::ordered_json out = r.ordered_json();
    std::vector<std::string> keys;  // in the order of --metrics, then the image count
    for (const auto& [key, value] : out.items()) keys.push_back(key);
    CHECK(keys == std::vector<std::string>{"bleu1", "bleu2", "bleu3", "bleu4", "rouge_l", "cider", "images"});
    CHECK(out["images"] == c["image_order"].size());
    for (const auto& [ours, theirs] : kMetricNames)
      CHECK(out[ours].get<double>() == doctest::Approx(c["scores"][theirs].get<double>()).epsilon(1e-9));

    const std::vector<CsvRecord> per = read_csv_file(dir / "per.csv");
    REQUIRE(per.size() == c["image_order"].size() + 1);
    CHECK(per[0].fields == std::vector<std::string>{"imgId", "bleu1", "bleu2", "bleu3", "bleu4", "rouge_l", "cider"});
    for (size_t row = 1; row < per.size(); ++row) {
      const std::string id = per[row].fields.at(0);
      CHECK(id == c["image_order"][row - 1]);
      for (size_t m = 1; m < per[0].fields.size(); ++m) {
        const double expected = c["per_image"][kMetricNames.at(per[0].fields[m])][id].get<double>();
        CHECK(std::stod(per[row].fields.at(m)) == doctest::Approx(expected).epsilon(1e-9));
      }
    }
    ++checked;
  }
  CHECK(checked == 2);
}

TEST_CASE("score: cosine with --scorer is sentence-transformers' cosine; the table form") {
  const std::vector<std::string> sentences =
      read_json_file(fixture("minilm-tiny/references.json"))["sentences"].get<std::vector<std::string>>();
  const at::Tensor cosine = Checkpoint::open(fixture("minilm-tiny/references.safetensors")).view("cosine");
  TempDir dir;
  // image i: prediction sentence i, truth sentence i + 1
  std::string pred = csv_row({"imgId", "prompt"}), truth = csv_row({"imgId", "prompt"});
  double expected = 0;
  for (int i = 0; i < 6; ++i) {
    pred += csv_row({"img" + std::to_string(i), sentences[i]});
    truth += csv_row({"img" + std::to_string(i), sentences[i + 1]});
    expected += cosine[i][i + 1].item<double>() / 6;
  }
  write_text(dir / "pred.csv", pred);
  write_text(dir / "truth.csv", truth);
  const CliResult r = capbench_cli({"score", (dir / "pred.csv").string(), (dir / "truth.csv").string(), "--scorer",
                                    fixture("minilm-tiny").string(), "--device", "cpu", "--metrics", "cosine,bleu4"});
  CAPTURE(r.err);
  REQUIRE(r.status == 0);
  std::istringstream lines(r.out);
  std::string header, name;
  double value = 0;
  std::getline(lines, header);
  CHECK(header == "metric        value");
  REQUIRE(static_cast<bool>(lines >> name >> value));
  CHECK(name == "cosine");
  CHECK(value == doctest::Approx(expected).epsilon(1e-5));
  REQUIRE(static_cast<bool>(lines >> name >> value));
  CHECK(name == "bleu4");
  REQUIRE(static_cast<bool>(lines >> name >> value));
  CHECK(name == "images");
  CHECK(value == 6);
}

TEST_CASE("score: bad arguments and bad files end with one line") {
  TempDir dir;
  write_text(dir / "pred.csv", "imgId,prompt\nx,a cat\n");
  write_text(dir / "truth.csv", "imgId,prompt\ny,a dog\n");
  const std::string pred = (dir / "pred.csv").string(), truth = (dir / "truth.csv").string();
  check_usage_error(capbench_cli({"score", pred, truth, "--metrics", "cosine"}), "score", "the cosine metric needs --scorer");
  check_usage_error(capbench_cli({"score", pred}), "score", "truth");
  check_one_line_error(capbench_cli({"score", pred, truth}), pred + ":2: id 'x' is not in " + truth);
  write_text(dir / "truth-x.csv", "imgId,prompt\nx,a dog\n");
  check_one_line_error(capbench_cli({"score", pred, (dir / "truth-x.csv").string(), "--metrics", "meteor"}),
                       "unknown metric 'meteor'");
}
