// `capbench score` and `capbench embed` end to end.
#include <doctest/doctest.h>
#include <torch/torch.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/checkpoint.h"
#include "metrics/metrics.h"
#include "tests/test_support.h"

namespace fs = std::filesystem;

namespace {

struct Result {
  int code;
  std::string out;
};

Result run(const std::string& arguments) {
  const char* bin = std::getenv("CAPBENCH_BIN");
  REQUIRE(bin != nullptr);
  std::string command = std::string(bin) + " " + arguments + " 2>/dev/null";
  FILE* pipe = popen(command.c_str(), "r");
  REQUIRE(pipe != nullptr);
  std::string out;
  std::array<char, 4096> buffer{};
  while (size_t n = fread(buffer.data(), 1, buffer.size(), pipe)) out.append(buffer.data(), n);
  const int status = pclose(pipe);
  return {WEXITSTATUS(status), out};
}

class TempDir : public capbench::testing::TempDir {
 public:
  std::string file(const std::string& name, const std::string& content) const {
    capbench::testing::write_text(path() / name, content);
    return (path() / name).string();
  }
};

const std::string kModel = capbench::testing::fixture("minilm-tiny").string();

}  // namespace

TEST_CASE("score: JSON object of corpus values equal to compute_metrics, per-image file") {
  TempDir dir;
  const std::string pred = dir.file("pred.csv", "imgId,prompt\nb,\"a dog, running on grass\"\na,a cat on a sofa\n");
  const std::string truth = dir.file("truth.csv",
                                     "image_id,caption\na,a cat sitting on a sofa\nb,a dog running\nb,\"a brown dog, "
                                     "on grass\"\nc,unpredicted\n");
  const Result r = run("score " + pred + " " + truth + " --json --metrics bleu4,rouge_l,cider --per-image " +
                       (dir.path() / "per.csv").string());
  REQUIRE(r.code == 0);
  const auto json = nlohmann::json::parse(r.out);
  const auto expected = capbench::compute_metrics(
      {"bleu4", "rouge_l", "cider"}, {"a dog, running on grass", "a cat on a sofa"},
      {{"a dog running", "a brown dog, on grass"}, {"a cat sitting on a sofa"}}, nullptr);
  CHECK(json["images"] == 2);
  CHECK(json["bleu4"].get<double>() == expected[0].corpus);
  CHECK(json["rouge_l"].get<double>() == expected[1].corpus);
  CHECK(json["cider"].get<double>() == expected[2].corpus);
  std::ifstream per(dir.path() / "per.csv");
  std::string header, first;
  std::getline(per, header);
  std::getline(per, first);
  CHECK(header == "imgId,bleu4,rouge_l,cider");
  CHECK(first.rfind("b,", 0) == 0);
}

TEST_CASE("score: cosine with --scorer equals the mean cosine of the embeddings") {
  TempDir dir;
  const std::string pred = dir.file("pred.csv", "imgId,prompt\nx,A man is eating food.\ny,A monkey is playing drums.\n");
  const std::string truth = dir.file("truth.csv", "imgId,prompt\nx,A man is eating a piece of bread.\ny,A man is riding a horse.\n");
  const Result r = run("score " + pred + " " + truth + " --json --metrics cosine --device cpu --scorer " + kModel);
  REQUIRE(r.code == 0);
  // sentences 0/1 and 7/3 of the fixture: the reference cosine matrix has both.
  const at::Tensor cosine = capbench::Checkpoint::open(kModel + "/references.safetensors").view("cosine");
  const double expected = (cosine[0][1].item<double>() + cosine[7][3].item<double>()) / 2;
  CHECK(nlohmann::json::parse(r.out)["cosine"].get<double>() == doctest::Approx(expected).epsilon(1e-5));
}

TEST_CASE("score: usage and data errors") {
  TempDir dir;
  const std::string pred = dir.file("pred.csv", "imgId,prompt\nx,a\n");
  const std::string truth = dir.file("truth.csv", "imgId,prompt\ny,b\n");
  CHECK(run("score " + pred + " " + truth + " --metrics cosine").code == 2);
  CHECK(run("score " + pred + " " + truth).code == 1);  // x is not in the truth
  CHECK(run("score " + pred + " " + dir.file("t2.csv", "id,text\nx,a\n")).code == 1);
}

TEST_CASE("embed: JSON array in input order equal to the reference embeddings") {
  const Result r = run("embed --device cpu --json --model " + kModel +
                       " \"A man is riding a horse.\" \"A man is eating food.\"");
  REQUIRE(r.code == 0);
  const auto json = nlohmann::json::parse(r.out);
  REQUIRE(json.size() == 2);
  CHECK(json[0]["text"] == "A man is riding a horse.");
  const at::Tensor embeddings = capbench::Checkpoint::open(kModel + "/references.safetensors").view("embeddings");
  for (int i = 0; i < 2; ++i) {
    const auto values = json[i]["embedding"].get<std::vector<float>>();
    REQUIRE(values.size() == 32);
    const at::Tensor row = embeddings[i == 0 ? 3 : 0];
    CHECK((torch::tensor(values) - row).abs().max().item<double>() < 1e-5);
  }
}
