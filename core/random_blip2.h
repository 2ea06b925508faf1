#pragma once
// Writes random-weight BLIP-2 checkpoints of any size in Hugging Face's layout
// (config.json, model.safetensors with transformers' tensor names,
// preprocessor_config.json, generation_config.json, tokenizer files copied from
// a folder): the models of the demo, of benchmarks and of tests. The weights are
// noise, so captions are noise; the shapes and the data path are real.
#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace capbench {

struct RandomBlip2Options {
  // Vision transformer (EVA ViT layout of BLIP-2).
  int64_t vision_hidden = 64;        // vision_config.hidden_size
  int64_t vision_layers = 2;         // vision_config.num_hidden_layers
  int64_t vision_heads = 4;          // vision_config.num_attention_heads
  int64_t vision_intermediate = 256; // vision_config.intermediate_size
  int64_t image_size = 224;          // vision_config.image_size
  int64_t patch_size = 14;           // vision_config.patch_size
  // Q-Former.
  int64_t qformer_hidden = 64;        // qformer_config.hidden_size
  int64_t qformer_layers = 2;         // qformer_config.num_hidden_layers
  int64_t qformer_heads = 4;          // qformer_config.num_attention_heads
  int64_t qformer_intermediate = 256; // qformer_config.intermediate_size
  int64_t cross_attention_frequency = 2;
  int64_t query_tokens = 8;           // num_query_tokens
  // Language model: "opt" (decoder-only) or "t5" (Flan-T5 style: gated GELU, untied head).
  std::string language_model = "opt";
  int64_t text_hidden = 64;           // OPT hidden_size / T5 d_model
  int64_t text_layers = 2;            // OPT num_hidden_layers / T5 num_layers (= num_decoder_layers)
  int64_t text_heads = 4;             // attention heads
  int64_t text_ffn = 256;             // OPT ffn_dim / T5 d_ff
  int64_t text_head_dim = 16;         // T5 d_kv
  int64_t vocab_size = 0;             // 0 = the tokenizer's size (every id decodes to text)
  int64_t max_positions = 128;        // OPT max_position_embeddings
  uint64_t seed = 0;                  // same seed and sizes -> same weights
  double init_std = 0.02;             // weights ~ N(0, init_std); biases 0; norms 1
  std::filesystem::path tokenizer;    // folder whose tokenizer files are copied; empty: none (needs vocab_size)
};

// Writes the checkpoint folder `out` (created when absent).
void write_random_blip2(const std::filesystem::path& out, const RandomBlip2Options& options);

// The tensor names and shapes write_random_blip2 writes, in file order.
std::vector<std::pair<std::string, std::vector<int64_t>>> random_blip2_tensors(const RandomBlip2Options& options,
                                                                               int64_t vocab_size);

}  // namespace capbench
