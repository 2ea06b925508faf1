#include "core/blip2_config.h"

#include "core/error.h"
#include "core/json_file.h"

namespace capbench {

namespace {

void require_heads_divide(const JsonObject& o, int64_t hidden, int64_t heads) {
  if (hidden % heads != 0)
    throw Error(o.file().string() + ": '" + o.key_path("hidden_size") + "' (" + std::to_string(hidden) +
                ") is not a multiple of '" + o.key_path("num_attention_heads") + "' (" + std::to_string(heads) + ")");
}

Blip2VisionConfig read_vision(const JsonObject& o) {
  Blip2VisionConfig v;
  v.hidden_size = o.get_int("hidden_size", v.hidden_size);
  v.intermediate_size = o.get_int("intermediate_size", v.intermediate_size);
  v.num_hidden_layers = o.get_int("num_hidden_layers", v.num_hidden_layers);
  v.num_attention_heads = o.get_int("num_attention_heads", v.num_attention_heads);
  v.image_size = o.get_int("image_size", v.image_size);
  v.patch_size = o.get_int("patch_size", v.patch_size);
  v.layer_norm_eps = o.get_double("layer_norm_eps", v.layer_norm_eps);
  v.hidden_act = o.get_string("hidden_act", v.hidden_act);
  v.qkv_bias = o.get_bool("qkv_bias", v.qkv_bias);
  for (const char* key : {"hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads",
                          "image_size", "patch_size"})
    o.require_positive(key, o.get_int(key, 1));
  require_heads_divide(o, v.hidden_size, v.num_attention_heads);
  if (v.image_size < v.patch_size)
    throw Error(o.file().string() + ": '" + o.key_path("image_size") + "' is smaller than '" +
                o.key_path("patch_size") + "'");
  return v;
}

Blip2QFormerConfig read_qformer(const JsonObject& o) {
  Blip2QFormerConfig q;
  q.hidden_size = o.get_int("hidden_size", q.hidden_size);
  q.intermediate_size = o.get_int("intermediate_size", q.intermediate_size);
  q.num_hidden_layers = o.get_int("num_hidden_layers", q.num_hidden_layers);
  q.num_attention_heads = o.get_int("num_attention_heads", q.num_attention_heads);
  q.cross_attention_frequency = o.get_int("cross_attention_frequency", q.cross_attention_frequency);
  q.layer_norm_eps = o.get_double("layer_norm_eps", q.layer_norm_eps);
  q.hidden_act = o.get_string("hidden_act", q.hidden_act);
  q.position_embedding_type = o.get_string("position_embedding_type", q.position_embedding_type);
  for (const char* key : {"hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads",
                          "cross_attention_frequency"})
    o.require_positive(key, o.get_int(key, 1));
  require_heads_divide(o, q.hidden_size, q.num_attention_heads);
  return q;
}

}  // namespace

Blip2Config Blip2Config::from_path(const std::filesystem::path& path) {
  Blip2Config c;
  c.file = std::filesystem::is_directory(path) ? path / "config.json" : path;
  if (!std::filesystem::exists(c.file)) throw Error(c.file.string() + ": config file does not exist");
  const JsonObject top(read_json_file(c.file), c.file);
  const std::string model_type = top.get_string("model_type", "blip-2");
  if (model_type != "blip-2")
    throw Error(c.file.string() + ": model_type is '" + model_type + "', expected 'blip-2' (a BLIP-2 checkpoint)");
  c.num_query_tokens = top.get_int("num_query_tokens", c.num_query_tokens);
  top.require_positive("num_query_tokens", c.num_query_tokens);
  c.use_decoder_only_language_model = top.get_bool("use_decoder_only_language_model", c.use_decoder_only_language_model);
  c.vision = read_vision(top.child("vision_config"));
  c.qformer = read_qformer(top.child("qformer_config"));
  // Blip2Config.__init__ overrides whatever the file says.
  c.qformer.encoder_hidden_size = c.vision.hidden_size;

  const JsonObject text = top.child("text_config");
  c.text_config = text.json();
  c.text_model_type = text.get_string("model_type", "opt");
  // T5 calls its width d_model (hidden_size is an alias of it in transformers).
  if (c.text_model_type == "t5" || c.text_model_type == "mt5" || c.text_model_type == "umt5") {
    c.text_hidden_size = text.get_int("d_model", 512);
  } else if (c.text_model_type == "opt") {
    c.text_hidden_size = text.get_int("hidden_size", 768);
  } else {
    c.text_hidden_size = text.has("hidden_size") ? text.get_int("hidden_size", 0) : text.require_int("d_model");
  }
  text.require_positive(c.text_model_type == "t5" ? "d_model" : "hidden_size", c.text_hidden_size);
  return c;
}

}  // namespace capbench
