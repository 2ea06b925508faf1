// Reading Blip2 config.json files: sparse nested configs take transformers'
// defaults (tests/fixtures/config_defaults.json), with Blip2Config's special cases.
#include "core/blip2_config.h"

#include <doctest/doctest.h>
#include <unistd.h>

#include <fstream>

#include "core/error.h"
#include "core/json_file.h"
#include "tests/test_support.h"

namespace fs = std::filesystem;
using capbench::Blip2Config;

namespace {

const fs::path kFixtures = capbench::testing::fixture();

struct ConfigFile {
  capbench::testing::TempDir dir;
  fs::path path = dir / "config.json";
  explicit ConfigFile(const std::string& text) { capbench::testing::write_text(path, text); }
};

}  // namespace

TEST_CASE("the OPT fixture: explicit keys read, absent ones from transformers' defaults") {
  const Blip2Config c = Blip2Config::from_path(kFixtures / "blip2-opt-tiny");
  CHECK(c.num_query_tokens == 8);
  CHECK(c.use_decoder_only_language_model);
  CHECK(c.vision.hidden_size == 32);
  CHECK(c.vision.num_hidden_layers == 2);
  CHECK(c.vision.patch_size == 14);
  CHECK(c.vision.image_size == 224);
  CHECK(c.vision.layer_norm_eps == 1e-6);
  CHECK(c.qformer.cross_attention_frequency == 2);
  CHECK(c.qformer.layer_norm_eps == 1e-12);
  CHECK(c.qformer.encoder_hidden_size == 32);
  CHECK(c.text_model_type == "opt");
  CHECK(c.text_hidden_size == 32);
  CHECK(c.text_config.at("ffn_dim") == 64);
}

TEST_CASE("the T5 fixture: encoder-decoder, width from d_model") {
  const Blip2Config c = Blip2Config::from_path(kFixtures / "blip2-t5-tiny" / "config.json");
  CHECK_FALSE(c.use_decoder_only_language_model);
  CHECK(c.text_model_type == "t5");
  CHECK(c.text_hidden_size == 32);
}

TEST_CASE("an empty Blip2 config is all defaults; the defaults are those of config_defaults.json") {
  const nlohmann::json defaults = capbench::read_json_file(kFixtures / "config_defaults.json");
  ConfigFile file(R"({"model_type": "blip-2", "qformer_config": {"encoder_hidden_size": 5}})");
  const Blip2Config c = Blip2Config::from_path(file.path);
  const auto& v = defaults.at("Blip2VisionConfig");
  CHECK(c.vision.hidden_size == v.at("hidden_size"));
  CHECK(c.vision.intermediate_size == v.at("intermediate_size"));
  CHECK(c.vision.num_hidden_layers == v.at("num_hidden_layers"));
  CHECK(c.vision.num_attention_heads == v.at("num_attention_heads"));
  CHECK(c.vision.patch_size == v.at("patch_size"));
  CHECK(c.vision.layer_norm_eps == v.at("layer_norm_eps").get<double>());
  CHECK(c.vision.hidden_act == v.at("hidden_act"));
  CHECK(c.vision.qkv_bias == v.at("qkv_bias"));
  const auto& q = defaults.at("Blip2QFormerConfig");
  CHECK(c.qformer.hidden_size == q.at("hidden_size"));
  CHECK(c.qformer.num_hidden_layers == q.at("num_hidden_layers"));
  CHECK(c.qformer.cross_attention_frequency == q.at("cross_attention_frequency"));
  CHECK(c.qformer.layer_norm_eps == q.at("layer_norm_eps").get<double>());
  // Blip2Config sets the Q-Former's encoder width to the vision width, whatever the file says.
  CHECK(c.qformer.encoder_hidden_size == v.at("hidden_size"));
  CHECK(c.num_query_tokens == defaults.at("Blip2Config").at("num_query_tokens"));
  CHECK(c.text_model_type == "opt");  // text_config defaults to OPT
  CHECK(c.text_hidden_size == defaults.at("OPTConfig").at("hidden_size"));
}

TEST_CASE("bad configs are refused naming the file and key") {
  {
    ConfigFile file(R"({"model_type": "blip-2", "vision_config": {"hidden_size": "wide"}})");
    CHECK_THROWS_WITH_AS(Blip2Config::from_path(file.path), doctest::Contains("vision_config.hidden_size"),
                         capbench::Error);
  }
  {
    ConfigFile file(R"({"model_type": "blip-2", "qformer_config": {"hidden_size": 100, "num_attention_heads": 12}})");
    CHECK_THROWS_WITH_AS(Blip2Config::from_path(file.path), doctest::Contains("qformer_config.num_attention_heads"),
                         capbench::Error);
  }
  {
    ConfigFile file(R"({"model_type": "llava"})");
    CHECK_THROWS_WITH_AS(Blip2Config::from_path(file.path), doctest::Contains("llava"), capbench::Error);
  }
  CHECK_THROWS_WITH_AS(Blip2Config::from_path(kFixtures / "no-such-model"), doctest::Contains("no-such-model"),
                       capbench::Error);
}
