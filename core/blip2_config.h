#pragma once
// Typed reading of a Blip2 config.json (transformers' Blip2Config). Nested
// configs are sparse in files written by transformers (keys equal to the
// defaults are left out), so every absent key takes the default of its
// transformers class (tests/fixtures/config_defaults.json lists them).
#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

namespace capbench {

// Blip2VisionConfig: the EVA ViT.
struct Blip2VisionConfig {
  int64_t hidden_size = 1408;
  int64_t intermediate_size = 6144;
  int64_t num_hidden_layers = 39;
  int64_t num_attention_heads = 16;
  int64_t image_size = 224;
  int64_t patch_size = 14;
  double layer_norm_eps = 1e-6;
  std::string hidden_act = "gelu";  // exact (erf) GELU
  bool qkv_bias = true;             // q and v biases, none for k
};

// Blip2QFormerConfig: the BERT-style querying transformer.
struct Blip2QFormerConfig {
  int64_t hidden_size = 768;
  int64_t intermediate_size = 3072;
  int64_t num_hidden_layers = 12;
  int64_t num_attention_heads = 12;
  int64_t cross_attention_frequency = 2;  // layer i cross-attends when i % this == 0
  int64_t encoder_hidden_size = 1408;     // always the vision hidden size (Blip2Config sets it)
  double layer_norm_eps = 1e-12;
  std::string hidden_act = "gelu";
  std::string position_embedding_type = "absolute";
};

struct Blip2Config {
  int64_t num_query_tokens = 32;
  bool use_decoder_only_language_model = true;
  Blip2VisionConfig vision;
  Blip2QFormerConfig qformer;
  std::string text_model_type = "opt";  // text_config.model_type (OPT when text_config is absent)
  int64_t text_hidden_size = 768;       // width of the language model's embeddings
  nlohmann::json text_config;           // as written in the file (sparse); the decoders read it
  std::filesystem::path file;           // the config.json it came from

  // Reads <folder>/config.json (or `path` itself when it is a file). Throws Error
  // naming the file and key for wrong types, non-Blip2 configs and bad values.
  static Blip2Config from_path(const std::filesystem::path& path);
};

}  // namespace capbench
