#pragma once
// A small sweep on the fixture checkpoints for the experiment commands' tests
// (plan, run, leaderboard, merge, submit): a Kaggle-style folder with the two
// images every blip2-opt-tiny reference was computed from, and 4 runs (greedy
// and beam 3, without a prompt and with the references' question) that match
// the references' cases greedy_noprompt, greedy_prompt, beam3_noprompt and
// beam3_prompt. The scorer is tests/fixtures/minilm-tiny.
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "core/json_file.h"
#include "tests/app/cli/cli_test_support.h"

namespace capbench::testing {

inline const std::string kQuestion = "Question: what is shown in the picture? Answer:";

class SweepFixture {
 public:
  // Images img1 (rgb_640x480.png) and img2 (rgb_300x500.jpg), plus `extra_images`
  // more copies (img3, img4, ...) for sweeps that should take a while.
  explicit SweepFixture(int extra_images = 0, const std::string& extra_toml = "") {
    namespace fs = std::filesystem;
    fs::create_directories(dir_ / "data" / "images");
    const std::vector<std::string> sources = {"rgb_640x480.png", "rgb_300x500.jpg"};
    std::string prompts = "imgId,prompt\n";
    for (int i = 0; i < 2 + extra_images; ++i) {
      const std::string source = sources[static_cast<size_t>(i) % 2];
      const std::string id = "img" + std::to_string(i + 1);
      fs::copy_file(fixture("images/" + source), dir_ / "data" / "images" / (id + fs::path(source).extension().string()));
      prompts += id + ",\"a painting of a city, " + std::to_string(i + 1) + " lights\"\n";
    }
    write_text(dir_ / "data" / "prompts.csv", prompts);
    write_text(experiment(), R"(name = "e2e"
device = "cpu"
dtype = "fp32"
dataset = { kind = "sdip", root = "data", on_error = "skip" }
model = { checkpoint = ")" + fixture("blip2-opt-tiny").string() + R"(" }
encoder = { plugin = "blip2-vision" }
bridge = { plugin = "qformer" }
decoder = { plugin = "opt" }
generate = { max_new_tokens = 12 }
scorer = { plugin = "minilm", checkpoint = ")" + fixture("minilm-tiny").string() + R"(", metrics = ["cosine", "bleu4", "cider"] }
output = { dir = "out", submission = true }
)" + extra_toml + R"(
[sweep]
"generate.num_beams" = [1, 3]
"generate.prompt" = ["", ")" + kQuestion + R"("]
)");
  }

  std::filesystem::path experiment() const { return dir_ / "exp.toml"; }
  std::filesystem::path output() const { return dir_ / "out"; }
  std::filesystem::path images() const { return dir_ / "data" / "images"; }
  std::filesystem::path prompts() const { return dir_ / "data" / "prompts.csv"; }
  const TempDir& dir() const { return dir_; }

  // `capbench run` on the experiment with extra arguments.
  CliResult run(const std::vector<std::string>& extra = {}) const {
    std::vector<std::string> args = {"run", experiment().string()};
    args.insert(args.end(), extra.begin(), extra.end());
    return capbench_cli(args);
  }

 private:
  TempDir dir_;
};

// The references' case each run of the sweep reproduces, by (num_beams, prompt).
inline std::string reference_case(int64_t num_beams, const std::string& prompt) {
  return std::string(num_beams == 1 ? "greedy" : "beam3") + (prompt.empty() ? "_noprompt" : "_prompt");
}

}  // namespace capbench::testing
