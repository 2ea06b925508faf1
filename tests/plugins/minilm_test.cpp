// The minilm plugin against sentence-transformers' outputs for
// tests/fixtures/minilm-tiny (token ids, hidden states, pooled and normalised
// embeddings, cosine matrix), its pooling modes, and its errors.
#include <doctest/doctest.h>
#include <toml++/toml.h>
#include <torch/torch.h>

#include <boost/dll/import.hpp>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/checkpoint.h"
#include "core/error.h"
#include "core/plugin_loader.h"
#include "core/safetensors.h"
#include "plugins/minilm/minilm_forward.h"
#include "tests/test_support.h"

namespace fs = std::filesystem;
using capbench::SentenceEmbedder;
using capbench::minilm::MiniLMForward;

namespace {

const fs::path kFixture = capbench::testing::fixture("minilm-tiny");

const capbench::PluginRegistry& registry() {
  static capbench::PluginRegistry r(capbench::PluginRegistry::search_path({}));
  return r;
}

std::shared_ptr<SentenceEmbedder> make_embedder(const fs::path& folder, const std::string& dtype = "fp32",
                                                toml::table settings = {}) {
  capbench::ComponentContext ctx{folder, "cpu", dtype, capbench::Settings(settings, "[scorer]")};
  return registry().create<SentenceEmbedder>("minilm", ctx);
}

MiniLMForward run_forward(SentenceEmbedder& embedder, const std::vector<std::string>& texts) {
  auto forward = boost::dll::import_alias<capbench::minilm::MiniLMForwardFn>(registry().find("minilm", "embedder").file,
                                                                            "capbench_minilm_forward");
  return forward(embedder, texts);
}

std::vector<std::string> sentences() {
  std::ifstream in(kFixture / "references.json");
  return nlohmann::json::parse(in)["sentences"].get<std::vector<std::string>>();
}

at::Tensor reference(const std::string& name) {
  static const capbench::Checkpoint refs = capbench::Checkpoint::open(kFixture / "references.safetensors");
  return refs.view(name).clone();
}

double max_difference(const at::Tensor& a, const at::Tensor& b) {
  REQUIRE(a.sizes() == b.sizes());
  return (a.to(at::kDouble) - b.to(at::kDouble)).abs().max().item<double>();
}

using capbench::testing::TempDir;

// A copy of the fixture whose 1_Pooling/config.json enables `mode` only, without Normalize.
fs::path fixture_with_pooling(const fs::path& dir, const std::string& mode) {
  fs::copy(kFixture, dir, fs::copy_options::recursive);
  for (const auto& entry : fs::recursive_directory_iterator(dir))
    fs::permissions(entry.path(), fs::perms::owner_write, fs::perm_options::add);
  nlohmann::json pooling = {{"word_embedding_dimension", 32}, {"pooling_mode_cls_token", false},
                            {"pooling_mode_mean_tokens", false}, {"pooling_mode_max_tokens", false},
                            {"pooling_mode_mean_sqrt_len_tokens", false}};
  pooling[mode] = true;
  std::ofstream(dir / "1_Pooling/config.json") << pooling.dump();
  std::ifstream in(dir / "modules.json");
  nlohmann::json modules = nlohmann::json::parse(in);
  in.close();
  modules.erase(2);
  std::ofstream(dir / "modules.json") << modules.dump();
  return dir;
}

}  // namespace

TEST_CASE("token ids, hidden states, pooled and normalised embeddings match sentence-transformers") {
  auto embedder = make_embedder(kFixture);
  CHECK(embedder->dimension() == 32);
  const MiniLMForward out = run_forward(*embedder, sentences());
  CHECK(torch::equal(out.input_ids, reference("input_ids")));
  CHECK(torch::equal(out.attention_mask, reference("attention_mask")));
  CHECK(max_difference(out.embedding_output, reference("hidden_states.0")) < 1e-4);
  CHECK(max_difference(out.last_hidden_state, reference("last_hidden_state")) < 1e-4);
  CHECK(max_difference(out.pooled, reference("mean_pooled")) < 1e-5);
  CHECK(max_difference(out.embeddings, reference("embeddings")) < 1e-5);
}

TEST_CASE("embed() batches by length yet returns input order; the cosine matrix matches") {
  auto embedder = make_embedder(kFixture, "fp32", toml::table{{"batch_size", 5}});
  const at::Tensor embeddings = embedder->embed(sentences());
  CHECK((embeddings.scalar_type() == at::kFloat));
  CHECK(max_difference(embeddings, reference("embeddings")) < 1e-5);
  CHECK(max_difference(embeddings.matmul(embeddings.t()), reference("cosine")) < 1e-5);
  // One text alone gives the same vector as inside a padded batch.
  const at::Tensor alone = embedder->embed({sentences()[3]});
  CHECK(max_difference(alone[0], reference("embeddings")[3]) < 1e-5);
  CHECK(embedder->embed({}).size(0) == 0);
}

TEST_CASE("bf16 runs and stays close to fp32") {
  auto embedder = make_embedder(kFixture, "bf16");
  const at::Tensor embeddings = embedder->embed(sentences());
  const at::Tensor cosines = (embeddings * reference("embeddings")).sum(1);
  CHECK(cosines.min().item<double>() > 0.99);
}

TEST_CASE("CLS, max and mean-sqrt-len pooling, without Normalize") {
  const at::Tensor hidden = reference("last_hidden_state");
  const at::Tensor mask = reference("attention_mask").unsqueeze(-1).to(at::kFloat);
  const at::Tensor count = mask.sum(1);
  struct Expected {
    std::string mode;
    at::Tensor value;
  };
  const std::vector<Expected> cases = {
      {"pooling_mode_cls_token", hidden.select(1, 0)},
      {"pooling_mode_max_tokens", std::get<0>(hidden.masked_fill(mask == 0, -1e9).max(1))},
      {"pooling_mode_mean_sqrt_len_tokens", (hidden * mask).sum(1) / count.sqrt()},
  };
  for (const Expected& e : cases) {
    INFO(e.mode);
    TempDir dir;
    auto embedder = make_embedder(fixture_with_pooling(dir.path() / "model", e.mode));
    CHECK(max_difference(embedder->embed(sentences()), e.value) < 1e-4);
  }
}

TEST_CASE("checkpoints with a bert. prefix load too") {
  TempDir dir;
  const fs::path folder = fixture_with_pooling(dir.path() / "model", "pooling_mode_mean_tokens");
  const capbench::Checkpoint original = capbench::Checkpoint::open(kFixture / "model.safetensors");
  std::vector<std::pair<std::string, at::Tensor>> renamed;
  for (const std::string& name : original.names()) renamed.emplace_back("bert." + name, original.view(name));
  fs::remove(folder / "model.safetensors");
  capbench::write_safetensors(folder / "model.safetensors", renamed);
  auto embedder = make_embedder(folder);
  CHECK(max_difference(embedder->embed(sentences()), reference("mean_pooled")) < 1e-5);
}

TEST_CASE("errors name what is wrong") {
  CHECK_THROWS_AS(make_embedder("no/such/model"), capbench::Error);
  CHECK_THROWS_WITH_AS(make_embedder(kFixture, "fp32", toml::table{{"batch_sise", 4}}), doctest::Contains("batch_sise"),
                       capbench::Error);
  CHECK_THROWS_WITH_AS(make_embedder(kFixture, "fp32", toml::table{{"batch_size", 0}}), doctest::Contains("batch_size"),
                       capbench::Error);
  TempDir dir;
  const fs::path folder = fixture_with_pooling(dir.path() / "model", "pooling_mode_lasttoken");
  CHECK_THROWS_WITH_AS(make_embedder(folder), doctest::Contains("pooling_mode_lasttoken"), capbench::Error);
}
