// LAVIS -> transformers names: the same renames as transformers'
// convert_blip_2_original_to_pytorch.py (written out below as that script does
// them, by substring), for OPT and T5 language models.
#include "core/lavis_names.h"

#include <doctest/doctest.h>

#include <map>

#include "core/checkpoint.h"
#include "core/error.h"
#include "tests/test_support.h"

using namespace capbench;
using namespace capbench::testing;

namespace {

// transformers' convert_blip_2_original_to_pytorch.py: create_rename_keys, then the
// substring renames of its loop, then read_in_q_v_bias. LAVIS name -> transformers name.
std::map<std::string, std::string> renames_of_the_script(const std::vector<std::string>& lavis, int64_t vision_layers) {
  std::map<std::string, std::string> table = {
      {"visual_encoder.cls_token", "vision_model.embeddings.class_embedding"},
      {"visual_encoder.pos_embed", "vision_model.embeddings.position_embedding"},
      {"visual_encoder.patch_embed.proj.weight", "vision_model.embeddings.patch_embedding.weight"},
      {"visual_encoder.patch_embed.proj.bias", "vision_model.embeddings.patch_embedding.bias"},
      {"ln_vision.weight", "vision_model.post_layernorm.weight"},
      {"ln_vision.bias", "vision_model.post_layernorm.bias"},
      {"Qformer.bert.embeddings.LayerNorm.weight", "qformer.layernorm.weight"},
      {"Qformer.bert.embeddings.LayerNorm.bias", "qformer.layernorm.bias"}};
  for (int64_t i = 0; i < vision_layers; ++i) {
    const std::string f = "visual_encoder.blocks." + std::to_string(i) + ".", t = "vision_model.encoder.layers." + std::to_string(i) + ".";
    for (const char* p : {"weight", "bias"}) {
      table[f + "norm1." + p] = t + "layer_norm1." + p;
      table[f + "norm2." + p] = t + "layer_norm2." + p;
      table[f + "attn.proj." + p] = t + "self_attn.projection." + p;
      table[f + "mlp.fc1." + p] = t + "mlp.fc1." + p;
      table[f + "mlp.fc2." + p] = t + "mlp.fc2." + p;
    }
    table[f + "attn.qkv.weight"] = t + "self_attn.qkv.weight";
  }
  auto replace_all = [](std::string s, const std::string& from, const std::string& to) {
    for (size_t at = 0; (at = s.find(from, at)) != std::string::npos; at += to.size()) s.replace(at, from.size(), to);
    return s;
  };
  std::map<std::string, std::string> renamed;
  for (const auto& name : lavis) {
    if (name.find(".attn.q_bias") != std::string::npos || name.find(".attn.v_bias") != std::string::npos) continue;
    std::string key = table.count(name) ? table[name] : name;
    if (key.rfind("Qformer.bert", 0) == 0) key = replace_all(key, "Qformer.bert", "qformer");
    if (key.find("attention.self") != std::string::npos) key = replace_all(key, "self", "attention");
    if (key.find("opt_proj") != std::string::npos) key = replace_all(key, "opt_proj", "language_projection");
    if (key.find("t5_proj") != std::string::npos) key = replace_all(key, "t5_proj", "language_projection");
    if (key.rfind("opt", 0) == 0) key = replace_all(key, "opt", "language");
    if (key.rfind("t5", 0) == 0) key = replace_all(key, "t5", "language");
    renamed[name] = key;
  }
  for (int64_t i = 0; i < vision_layers; ++i)
    renamed["visual_encoder.blocks." + std::to_string(i) + ".attn.q_bias"] =
        "vision_model.encoder.layers." + std::to_string(i) + ".self_attn.qkv.bias";
  renamed.erase("Qformer.bert.embeddings.position_ids");  // the script's one unexpected key: transformers has no such buffer
  return renamed;
}

}  // namespace

TEST_CASE("the fixture's LAVIS names map as transformers' conversion script maps them") {
  const std::filesystem::path folder = fixture("blip2-opt-tiny-lavis");
  const std::vector<std::string> names = Checkpoint::open(folder / "lavis_state_dict.pth").names();
  REQUIRE(has_lavis_names(names));
  const Blip2Config config = Blip2Config::from_path(folder);
  const auto mapped = map_lavis_names(names, config, "test");
  const auto script = renames_of_the_script(names, config.vision.num_hidden_layers);
  REQUIRE(mapped.size() == script.size());
  for (const LavisTensor& t : mapped) {
    CAPTURE(t.source);
    CHECK(script.at(t.source) == t.name);
    CHECK(t.v_bias.empty() == (t.source.find("q_bias") == std::string::npos));
  }
  CHECK_FALSE(has_lavis_names(Checkpoint::open(fixture("blip2-opt-tiny")).names()));
}

TEST_CASE("T5 checkpoints: t5_proj and t5_model") {
  Blip2Config config;
  config.vision.num_hidden_layers = 0;
  config.qformer.num_hidden_layers = 0;
  config.text_model_type = "t5";
  const std::vector<std::string> names = {"query_tokens", "visual_encoder.cls_token", "visual_encoder.pos_embed",
                                          "visual_encoder.patch_embed.proj.weight", "visual_encoder.patch_embed.proj.bias",
                                          "ln_vision.weight", "ln_vision.bias", "Qformer.bert.embeddings.LayerNorm.weight",
                                          "Qformer.bert.embeddings.LayerNorm.bias", "t5_proj.weight", "t5_proj.bias",
                                          "t5_model.shared.weight", "t5_model.encoder.block.0.layer.0.SelfAttention.q.weight",
                                          "Qformer.bert.embeddings.position_ids"};
  const auto mapped = map_lavis_names(names, config, "t5.pth");
  const auto script = renames_of_the_script(names, 0);
  REQUIRE(mapped.size() == names.size() - 1);  // position_ids dropped
  for (const LavisTensor& t : mapped) CHECK(script.at(t.source) == t.name);
  CHECK(mapped.back().name == "language_model.encoder.block.0.layer.0.SelfAttention.q.weight");
  // OPT names with a T5 config are unknown, and the T5 model is missing.
  std::vector<std::string> opt = names;
  for (auto& n : opt)
    if (n.rfind("t5_", 0) == 0) n = "opt_" + n.substr(3);
  CHECK_THROWS_WITH_AS(map_lavis_names(opt, config, "t5.pth"),
                       doctest::Contains("4 unknown: opt_proj.weight, opt_proj.bias, opt_model.shared.weight"), Error);
}
