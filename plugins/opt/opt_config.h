#pragma once
// OPT's text config (transformers' OPTConfig), from a Blip2 config's
// text_config or a plain OPT config.json; absent keys take OPTConfig's defaults.
#include <cstdint>
#include <filesystem>
#include <string>

namespace capbench::opt {

struct OptConfig {
  int64_t vocab_size = 50272;
  int64_t hidden_size = 768;
  int64_t num_hidden_layers = 12;
  int64_t ffn_dim = 3072;
  int64_t num_attention_heads = 12;
  int64_t max_position_embeddings = 2048;
  bool do_layer_norm_before = true;        // pre-LN (every size but 350m)
  bool remove_final_layer_norm = false;    // `_remove_final_layer_norm` of old 350m configs
  int64_t word_embed_proj_dim = 768;       // defaults to hidden_size; differs only for 350m (project_in/out)
  std::string activation_function = "relu";
  bool enable_bias = true;
  bool layer_norm_elementwise_affine = true;
  bool tie_word_embeddings = true;
  int64_t bos_token_id = 2;
  int64_t eos_token_id = 2;
  int64_t pad_token_id = 1;

  bool has_final_layer_norm() const { return do_layer_norm_before && !remove_final_layer_norm; }
  bool has_projections() const { return word_embed_proj_dim != hidden_size; }
  int64_t head_dim() const { return hidden_size / num_attention_heads; }
};

// Reads <folder>/config.json: a Blip2 config (text_config, OPT when absent) or an
// OPT config (model_type "opt"). Throws Error naming the file and key.
OptConfig read_opt_config(const std::filesystem::path& folder);

}  // namespace capbench::opt
