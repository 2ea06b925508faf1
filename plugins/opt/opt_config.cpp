#include "plugins/opt/opt_config.h"

#include "core/error.h"
#include "core/json_file.h"
#include "core/nn/activations.h"

namespace capbench::opt {

namespace {

OptConfig parse(const JsonObject& json) {
  OptConfig c;
  c.vocab_size = json.get_int("vocab_size", c.vocab_size);
  c.hidden_size = json.get_int("hidden_size", c.hidden_size);
  c.num_hidden_layers = json.get_int("num_hidden_layers", c.num_hidden_layers);
  c.ffn_dim = json.get_int("ffn_dim", c.ffn_dim);
  c.num_attention_heads = json.get_int("num_attention_heads", c.num_attention_heads);
  c.max_position_embeddings = json.get_int("max_position_embeddings", c.max_position_embeddings);
  c.do_layer_norm_before = json.get_bool("do_layer_norm_before", c.do_layer_norm_before);
  c.remove_final_layer_norm = json.get_bool("_remove_final_layer_norm", c.remove_final_layer_norm);
  c.word_embed_proj_dim = json.get_int("word_embed_proj_dim", c.hidden_size);
  c.activation_function = json.get_string("activation_function", c.activation_function);
  c.enable_bias = json.get_bool("enable_bias", c.enable_bias);
  c.layer_norm_elementwise_affine = json.get_bool("layer_norm_elementwise_affine", c.layer_norm_elementwise_affine);
  c.tie_word_embeddings = json.get_bool("tie_word_embeddings", c.tie_word_embeddings);
  c.bos_token_id = json.get_int("bos_token_id", c.bos_token_id);
  c.eos_token_id = json.get_int("eos_token_id", c.eos_token_id);
  c.pad_token_id = json.get_int("pad_token_id", c.pad_token_id);
  if (c.num_attention_heads <= 0 || c.hidden_size % c.num_attention_heads != 0)
    throw Error(json.file().string() + ": " + json.key_path("hidden_size") + " (" + std::to_string(c.hidden_size) +
                ") is not divisible by num_attention_heads (" + std::to_string(c.num_attention_heads) + ")");
  nn::check_activation(c.activation_function, json.file().string() + ": " + json.key_path("activation_function"));
  return c;
}

}  // namespace

OptConfig read_opt_config(const std::filesystem::path& folder) {
  const std::filesystem::path file = folder / "config.json";
  JsonObject root(read_json_file(file), file);
  if (root.has("text_config") || root.get_string("model_type", "") == "blip-2") {
    JsonObject text = root.child("text_config");
    const std::string type = text.get_string("model_type", "opt");
    if (type != "opt")
      throw Error(file.string() + ": text_config.model_type is '" + type + "', not an OPT language model");
    return parse(text);
  }
  const std::string type = root.get_string("model_type", "");
  if (type != "opt") throw Error(file.string() + ": model_type '" + type + "' is neither blip-2 nor opt");
  return parse(root);
}

}  // namespace capbench::opt
