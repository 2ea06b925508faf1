// Checkpoints of torch.save files: .bin shards with pytorch_model.bin.index.json
// behave as safetensors shards do, and LAVIS .pth state dicts given as `weights`
// read under transformers' names; every tensor equals the truth bit for bit.
#include <doctest/doctest.h>
#include <torch/torch.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>

#include "core/checkpoint.h"
#include "core/error.h"
#include "core/torch_pickle/torch_writer.h"
#include "tests/core/checkpoint_test_support.h"

using capbench::Checkpoint;
using namespace capbench::testing;
using namespace std::string_literals;
namespace fs = std::filesystem;

namespace {

std::set<std::string> name_set(const Checkpoint& c) {
  auto names = c.names();
  return {names.begin(), names.end()};
}

const fs::path kLavis = fixture("blip2-opt-tiny-lavis");

std::string lavis_error(const std::vector<std::pair<std::string, at::Tensor>>& tensors) {
  TempDir dir;
  capbench::write_torch_state_dict(dir / "edited.pth", tensors);
  return open_error(kLavis, dir / "edited.pth");
}

// The tensors of the plain LAVIS state dict, as (name, tensor) in file order.
std::vector<std::pair<std::string, at::Tensor>> lavis_tensors() {
  Checkpoint raw = Checkpoint::open(kLavis / "lavis_state_dict.pth");  // a file alone: names as stored
  std::vector<std::pair<std::string, at::Tensor>> tensors;
  for (const auto& name : raw.names()) tensors.emplace_back(name, raw.view(name).clone());
  return tensors;
}

}  // namespace

TEST_CASE(".bin shards: the index is followed and every tensor equals the safetensors truth bit for bit") {
  Checkpoint truth = Checkpoint::open(fixture("blip2-opt-tiny"));
  Checkpoint bin = Checkpoint::open(fixture("blip2-opt-tiny-bin"));
  // transformers' .bin files also name the tied lm_head, stored once: a view of the embeddings' storage.
  std::set<std::string> expected = name_set(truth);
  expected.insert("language_model.lm_head.weight");
  CHECK(name_set(bin) == expected);
  CHECK(bin.view("language_model.lm_head.weight").data_ptr() ==
        bin.view("language_model.model.decoder.embed_tokens.weight").data_ptr());
  CHECK(bin.files().size() == 3);
  nlohmann::json index = nlohmann::json::parse(read_bytes(fixture("blip2-opt-tiny-bin/pytorch_model.bin.index.json")));
  for (const auto& [name, shard] : index["weight_map"].items()) CHECK(bin.info(name).file.filename() == shard.get<std::string>());
  for (const auto& name : truth.names()) {
    CAPTURE(name);
    CHECK((bin.info(name).dtype == at::kFloat));
    CHECK(torch::equal(bin.view(name), truth.view(name)));
  }
  CHECK((Checkpoint::open(fixture("blip2-opt-tiny-bin/pytorch_model.bin.index.json")).names() == bin.names()));
  // One shard alone holds what the index places there.
  Checkpoint shard = Checkpoint::open(fixture("blip2-opt-tiny-bin/pytorch_model-00003-of-00003.bin"));
  std::set<std::string> placed;
  for (const auto& [name, file] : index["weight_map"].items())
    if (file == "pytorch_model-00003-of-00003.bin") placed.insert(name);
  CHECK(name_set(shard) == placed);
}

TEST_CASE("a folder with both safetensors and .bin weights is read from the safetensors") {
  TempDir dir;
  for (const auto& item : fs::directory_iterator(fixture("blip2-opt-tiny-bin"))) fs::copy(item.path(), dir / item.path().filename().string());
  CHECK(Checkpoint::open(dir.path()).files().front().extension() == ".bin");
  fs::copy(fixture("blip2-opt-tiny-sharded/model-00001-of-00003.safetensors"), dir / "model-00001-of-00003.safetensors");
  fs::copy(fixture("blip2-opt-tiny-sharded/model-00002-of-00003.safetensors"), dir / "model-00002-of-00003.safetensors");
  fs::copy(fixture("blip2-opt-tiny-sharded/model-00003-of-00003.safetensors"), dir / "model-00003-of-00003.safetensors");
  fs::copy(fixture("blip2-opt-tiny-sharded/model.safetensors.index.json"), dir / "model.safetensors.index.json");
  Checkpoint both = Checkpoint::open(dir.path());
  for (const auto& file : both.files()) CHECK(file.extension() == ".safetensors");
  fs::copy(fixture("blip2-opt-tiny/model.safetensors"), dir / "model.safetensors");
  CHECK((Checkpoint::open(dir.path()).files() == std::vector<fs::path>{dir / "model.safetensors"}));
}

TEST_CASE("LAVIS state dicts read under transformers' names, equal to the truth (fp16 parts: its rounding)") {
  Checkpoint truth = Checkpoint::open(kLavis);  // model.safetensors
  for (const char* file : {"lavis_state_dict.pth", "lavis_checkpoint.pth"}) {
    CAPTURE(file);
    const bool fp16_vision = std::string(file) == "lavis_checkpoint.pth";
    Checkpoint lavis = Checkpoint::open(kLavis, kLavis / file);
    CHECK(lavis.folder() == kLavis);
    // LAVIS also saves the tied lm_head, which transformers' files leave out.
    std::set<std::string> expected = name_set(truth);
    expected.insert("language_model.lm_head.weight");
    CHECK(name_set(lavis) == expected);
    for (const auto& name : truth.names()) {
      CAPTURE(name);
      const at::Tensor want = truth.view(name);
      const bool half = fp16_vision && name.rfind("vision_model.", 0) == 0 && name.rfind("vision_model.post_layernorm.", 0) != 0;
      CHECK((lavis.info(name).dtype == (half ? at::kHalf : at::kFloat)));
      if (half) {
        CHECK(torch::equal(lavis.view(name), want.to(at::kHalf)));
        CHECK(torch::equal(lavis.load(name, at::kFloat, at::kCPU), want.to(at::kHalf).to(at::kFloat)));
      } else {
        CHECK(torch::equal(lavis.view(name), want));
      }
    }
    CHECK(torch::equal(lavis.view("language_model.lm_head.weight"), truth.view("language_model.model.decoder.embed_tokens.weight")));
    CHECK(lavis.info("vision_model.encoder.layers.1.self_attn.qkv.bias").file == kLavis / file);
  }
}

TEST_CASE("a LAVIS state dict with unknown or missing names is one error listing them") {
  const auto tensors = lavis_tensors();
  std::vector<std::pair<std::string, at::Tensor>> edited;
  for (const auto& t : tensors)
    if (t.first != "visual_encoder.blocks.1.attn.v_bias" && t.first != "opt_proj.weight") edited.push_back(t);
  edited.emplace_back("Qformer.cls.predictions.bias", torch::zeros({4}));
  edited.emplace_back("visual_encoder.blocks.2.norm1.weight", torch::zeros({4}));  // config.json has 2 layers
  std::string message = lavis_error(edited);
  CHECK(message.find("edited.pth: LAVIS names do not match the BLIP-2 of") != std::string::npos);
  CHECK(message.find("(vision 2 layers, Q-Former 2 layers, opt)") != std::string::npos);
  CHECK(message.find("2 unknown: Qformer.cls.predictions.bias, visual_encoder.blocks.2.norm1.weight") != std::string::npos);
  CHECK(message.find("2 missing: opt_proj.weight, visual_encoder.blocks.1.attn.v_bias") != std::string::npos);

  // Only the Q-Former (as LAVIS publishes its stage-2 checkpoints): the rest is missing, counted.
  std::vector<std::pair<std::string, at::Tensor>> qformer_only;
  for (const auto& t : tensors)
    if (t.first.rfind("Qformer.", 0) == 0 || t.first == "query_tokens" || t.first.rfind("opt_proj.", 0) == 0) qformer_only.push_back(t);
  message = lavis_error(qformer_only);
  CHECK(message.find("missing: opt_model.* (the language model), ln_vision.bias") != std::string::npos);
  CHECK(message.find("more") != std::string::npos);

  // A config whose language model LAVIS names do not cover.
  TempDir dir;
  nlohmann::json config = nlohmann::json::parse(read_text(kLavis / "config.json"));
  config["text_config"]["model_type"] = "llama";
  write_text(dir / "config.json", config.dump());
  try {
    Checkpoint::open(dir.path(), kLavis / "lavis_state_dict.pth");
    FAIL("accepted");
  } catch (const capbench::Error& e) {
    CHECK(std::string(e.what()).find("LAVIS names are mapped for BLIP-2 with OPT or T5") != std::string::npos);
  }
}

TEST_CASE("weights files in transformers' names are used as they are") {
  Checkpoint c = Checkpoint::open(kLavis, fixture("blip2-opt-tiny/model.safetensors"));
  CHECK(c.folder() == kLavis);
  CHECK(name_set(c) == name_set(Checkpoint::open(fixture("blip2-opt-tiny"))));
  CHECK_THROWS_WITH_AS(Checkpoint::open(kLavis, kLavis / "absent.pth"), doctest::Contains("absent.pth: no such weights file"),
                       capbench::Error);
}

TEST_CASE("capbench inspect lists .bin shards and LAVIS .pth tensors under the names the plugins read") {
  Checkpoint bin = Checkpoint::open(fixture("blip2-opt-tiny-bin"));
  auto [status, out] = run_capbench("inspect '" + fixture("blip2-opt-tiny-bin").string() + "' --json");
  REQUIRE_MESSAGE(status == 0, out);
  nlohmann::json json = nlohmann::json::parse(out);
  REQUIRE(json["tensors"].size() == bin.names().size());
  for (size_t i = 0; i < json["tensors"].size(); ++i) {
    CHECK(json["tensors"][i]["name"].get<std::string>() == bin.names()[i]);
    CHECK(json["tensors"][i]["dtype"].get<std::string>() == "F32");
    CHECK(json["tensors"][i]["file"].get<std::string>() == bin.info(bin.names()[i]).file.filename().string());
  }
  CHECK(json["model_type"].get<std::string>() == "blip-2");

  for (const char* file : {"lavis_state_dict.pth", "lavis_checkpoint.pth"}) {
    CAPTURE(file);
    auto [lavis_status, table] = run_capbench("inspect '" + kLavis.string() + "' --weights '" + (kLavis / file).string() + "'");
    REQUIRE_MESSAGE(lavis_status == 0, table);
    for (const auto& name : Checkpoint::open(kLavis).names()) CHECK_MESSAGE(table.find(name + " ") != std::string::npos, name);
    CHECK(table.find("visual_encoder.") == std::string::npos);
    CHECK(table.find("q_bias") == std::string::npos);
    CHECK(table.find(file) != std::string::npos);
  }

  TempDir dir;
  const std::string evil = "\x80\x02" "cposix\nsystem\n" "X\x04\x00\x00\x00true" "\x85R."s;
  capbench::write_torch_archive(dir / "evil.pth", {{"data.pkl", evil}});
  auto [bad_status, bad] = run_capbench("inspect '" + (dir / "evil.pth").string() + "'");
  CHECK(bad_status == 1);
  CHECK(bad.find("names the Python global 'posix.system'") != std::string::npos);
  CHECK(std::count(bad.begin(), bad.end(), '\n') == 1);
}

TEST_CASE("capbench caption --weights reads a LAVIS checkpoint beside the folder's config") {
  const fs::path folder = kLavis;
  const nlohmann::json lavis_references = nlohmann::json::parse(read_text(kLavis / "references.json"));
  const nlohmann::json& reference = lavis_references["cases"]["fp16_beam3_prompt"];
  auto [status, out] = run_capbench("caption --model '" + folder.string() + "' --weights '" + (folder / "lavis_checkpoint.pth").string() +
                                    "' --pixel-values '" + (fixture("blip2-opt-tiny") / "references.safetensors").string() +
                                    "' --num-beams 3 --max-new-tokens 10 --prompt 'a photo of' --json");
  REQUIRE_MESSAGE(status == 0, out);
  const nlohmann::json captions = nlohmann::json::parse(out.substr(out.find("\n[") + 1));  // after the tiny vocabulary's warnings
  REQUIRE(captions.size() == 2);
  for (size_t i = 0; i < 2; ++i) {
    std::vector<int64_t> ids = captions[i]["ids"][0].get<std::vector<int64_t>>();
    std::vector<int64_t> want = reference["sequences"][i].get<std::vector<int64_t>>();
    want.resize(ids.size());  // the reference rows are padded to the longest
    CHECK(ids == want);
  }
  auto [bad_status, bad] = run_capbench("caption --model '" + folder.string() + "' --weights '" + (folder / "absent.pth").string() +
                                        "' --pixel-values '" + (fixture("blip2-opt-tiny") / "references.safetensors").string() + "'");
  CHECK(bad_status == 1);
  CHECK(bad.find("absent.pth: no such weights file") != std::string::npos);
}

TEST_CASE("files of other names are told apart by their first bytes") {
  TempDir dir;
  // A safetensors header of 0x280 bytes starts 0x80 0x02, as a pickle does; its '{' tells it apart.
  std::string header = R"({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}})";
  header.resize(0x280, ' ');
  write_bytes(dir / "weights.st", safetensors_bytes(header, std::vector<uint8_t>(8, 0)));
  CHECK((Checkpoint::open(dir / "weights.st").names() == std::vector<std::string>{"w"}));
  fs::copy(fixture("torch-save/views.pth"), dir / "views.data");
  CHECK(Checkpoint::open(dir / "views.data").names().size() == 10);
  fs::copy(fixture("torch-save/legacy.pth"), dir / "legacy.data");
  CHECK(open_error(dir / "legacy.data").find("legacy serialization format") != std::string::npos);
}
