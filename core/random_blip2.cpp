#include "core/random_blip2.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <fstream>
#include <tuple>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/json_file.h"
#include "core/safetensors.h"

namespace capbench {

namespace fs = std::filesystem;

namespace {

using Shapes = std::vector<std::pair<std::string, std::vector<int64_t>>>;

void linear(Shapes& s, const std::string& name, int64_t out, int64_t in, bool bias = true) {
  s.push_back({name + ".weight", {out, in}});
  if (bias) s.push_back({name + ".bias", {out}});
}
void norm(Shapes& s, const std::string& name, int64_t dim, bool bias = true) {
  s.push_back({name + ".weight", {dim}});
  if (bias) s.push_back({name + ".bias", {dim}});
}

void vision(Shapes& s, const RandomBlip2Options& o) {
  int64_t h = o.vision_hidden, patches = (o.image_size / o.patch_size) * (o.image_size / o.patch_size);
  s.push_back({"vision_model.embeddings.class_embedding", {1, 1, h}});
  s.push_back({"vision_model.embeddings.patch_embedding.weight", {h, 3, o.patch_size, o.patch_size}});
  s.push_back({"vision_model.embeddings.patch_embedding.bias", {h}});
  s.push_back({"vision_model.embeddings.position_embedding", {1, patches + 1, h}});
  for (int64_t l = 0; l < o.vision_layers; ++l) {
    std::string p = "vision_model.encoder.layers." + std::to_string(l) + ".";
    norm(s, p + "layer_norm1", h);
    norm(s, p + "layer_norm2", h);
    linear(s, p + "mlp.fc1", o.vision_intermediate, h);
    linear(s, p + "mlp.fc2", h, o.vision_intermediate);
    linear(s, p + "self_attn.projection", h, h);
    linear(s, p + "self_attn.qkv", 3 * h, h);
  }
  norm(s, "vision_model.post_layernorm", h);
}

void qformer(Shapes& s, const RandomBlip2Options& o) {
  int64_t h = o.qformer_hidden;
  s.push_back({"query_tokens", {1, o.query_tokens, h}});
  for (int64_t l = 0; l < o.qformer_layers; ++l) {
    std::string p = "qformer.encoder.layer." + std::to_string(l) + ".";
    for (const char* qkv : {"key", "query", "value"}) linear(s, p + "attention.attention." + qkv, h, h);
    norm(s, p + "attention.output.LayerNorm", h);
    linear(s, p + "attention.output.dense", h, h);
    if (l % o.cross_attention_frequency == 0) {
      // Keys and values read the image features (vision width), queries the Q-Former's.
      linear(s, p + "crossattention.attention.key", h, o.vision_hidden);
      linear(s, p + "crossattention.attention.query", h, h);
      linear(s, p + "crossattention.attention.value", h, o.vision_hidden);
      norm(s, p + "crossattention.output.LayerNorm", h);
      linear(s, p + "crossattention.output.dense", h, h);
    }
    linear(s, p + "intermediate_query.dense", o.qformer_intermediate, h);
    norm(s, p + "output_query.LayerNorm", h);
    linear(s, p + "output_query.dense", h, o.qformer_intermediate);
  }
  norm(s, "qformer.layernorm", h);
  linear(s, "language_projection", o.text_hidden, h);
}

void opt(Shapes& s, const RandomBlip2Options& o, int64_t vocab) {
  int64_t h = o.text_hidden;
  std::string d = "language_model.model.decoder.";
  s.push_back({d + "embed_positions.weight", {o.max_positions + 2, h}});  // OPT's learned positions start at 2
  s.push_back({d + "embed_tokens.weight", {vocab, h}});
  norm(s, d + "final_layer_norm", h);
  for (int64_t l = 0; l < o.text_layers; ++l) {
    std::string p = d + "layers." + std::to_string(l) + ".";
    linear(s, p + "fc1", o.text_ffn, h);
    linear(s, p + "fc2", h, o.text_ffn);
    norm(s, p + "final_layer_norm", h);
    for (const char* proj : {"k_proj", "out_proj", "q_proj", "v_proj"}) linear(s, p + "self_attn." + proj, h, h);
    norm(s, p + "self_attn_layer_norm", h);
  }
}

void t5(Shapes& s, const RandomBlip2Options& o, int64_t vocab) {
  int64_t h = o.text_hidden, inner = o.text_heads * o.text_head_dim, buckets = 32;
  for (const std::string stack : {"decoder", "encoder"}) {
    bool decoder = stack == "decoder";
    for (int64_t b = 0; b < o.text_layers; ++b) {
      std::string p = "language_model." + stack + ".block." + std::to_string(b) + ".layer.";
      for (const char* m : {"k", "o", "q", "v"}) {
        bool out = std::string(m) == "o";
        linear(s, p + "0.SelfAttention." + m, out ? h : inner, out ? inner : h, false);
        if (std::string(m) == "q" && b == 0)  // the relative position bias lives in the first block only
          s.push_back({p + "0.SelfAttention.relative_attention_bias.weight", {buckets, o.text_heads}});
      }
      norm(s, p + "0.layer_norm", h, false);
      int ff = 1;
      if (decoder) {
        for (const char* m : {"k", "o", "q", "v"}) {
          bool out = std::string(m) == "o";
          linear(s, p + "1.EncDecAttention." + m, out ? h : inner, out ? inner : h, false);
        }
        norm(s, p + "1.layer_norm", h, false);
        ff = 2;
      }
      std::string f = p + std::to_string(ff) + ".";
      linear(s, f + "DenseReluDense.wi_0", o.text_ffn, h, false);
      linear(s, f + "DenseReluDense.wi_1", o.text_ffn, h, false);
      linear(s, f + "DenseReluDense.wo", h, o.text_ffn, false);
      norm(s, f + "layer_norm", h, false);
    }
    norm(s, "language_model." + stack + ".final_layer_norm", h, false);
  }
  s.push_back({"language_model.lm_head.weight", {vocab, h}});
  s.push_back({"language_model.shared.weight", {vocab, h}});
}

bool is_norm(const std::string& name) {
  return name.find("layer_norm") != std::string::npos || name.find("LayerNorm") != std::string::npos ||
         name.find("layernorm") != std::string::npos;
}

// The tokenizer's vocabulary size: entries of vocab.json (+ added tokens) or of vocab.txt.
int64_t tokenizer_size(const fs::path& folder) {
  if (fs::is_regular_file(folder / "vocab.json")) {
    int64_t max_id = -1;
    for (const char* name : {"vocab.json", "added_tokens.json"}) {
      if (!fs::is_regular_file(folder / name)) continue;
      const nlohmann::json ids = read_json_file(folder / name);
      for (const auto& entry : ids.items()) max_id = std::max<int64_t>(max_id, entry.value().get<int64_t>());
    }
    return max_id + 1;
  }
  throw Error(folder.string() + ": no vocab.json; give the vocabulary size explicitly");
}

void write_json(const fs::path& file, const nlohmann::json& value) {
  std::ofstream out(file);
  out << value.dump(2) << "\n";
  if (!out) throw Error(file.string() + ": cannot write");
}

nlohmann::json config(const RandomBlip2Options& o, int64_t vocab) {
  nlohmann::json vision = {{"model_type", "blip_2_vision_model"},
                           {"hidden_size", o.vision_hidden},
                           {"num_hidden_layers", o.vision_layers},
                           {"num_attention_heads", o.vision_heads},
                           {"intermediate_size", o.vision_intermediate},
                           {"image_size", o.image_size},
                           {"patch_size", o.patch_size},
                           {"layer_norm_eps", 1e-6},
                           {"hidden_act", "gelu"},
                           {"qkv_bias", true}};
  nlohmann::json qformer = {{"model_type", "blip_2_qformer"},
                            {"hidden_size", o.qformer_hidden},
                            {"num_hidden_layers", o.qformer_layers},
                            {"num_attention_heads", o.qformer_heads},
                            {"intermediate_size", o.qformer_intermediate},
                            {"encoder_hidden_size", o.vision_hidden},
                            {"cross_attention_frequency", o.cross_attention_frequency},
                            {"layer_norm_eps", 1e-12},
                            {"hidden_act", "gelu"}};
  nlohmann::json text;
  bool is_t5 = o.language_model == "t5";
  if (is_t5) {
    text = {{"model_type", "t5"},
            {"d_model", o.text_hidden},
            {"d_kv", o.text_head_dim},
            {"d_ff", o.text_ffn},
            {"num_layers", o.text_layers},
            {"num_decoder_layers", o.text_layers},
            {"num_heads", o.text_heads},
            {"vocab_size", vocab},
            {"feed_forward_proj", "gated-gelu"},
            {"dense_act_fn", "gelu_new"},
            {"is_gated_act", true},
            {"tie_word_embeddings", false},
            {"relative_attention_num_buckets", 32},
            {"relative_attention_max_distance", 128},
            {"layer_norm_epsilon", 1e-6},
            {"decoder_start_token_id", 0},
            {"pad_token_id", 0},
            {"eos_token_id", 1},
            {"is_encoder_decoder", true}};
  } else {
    text = {{"model_type", "opt"},
            {"hidden_size", o.text_hidden},
            {"num_hidden_layers", o.text_layers},
            {"num_attention_heads", o.text_heads},
            {"ffn_dim", o.text_ffn},
            {"word_embed_proj_dim", o.text_hidden},
            {"vocab_size", vocab},
            {"max_position_embeddings", o.max_positions},
            {"do_layer_norm_before", true},
            {"activation_function", "relu"},
            {"bos_token_id", 2},
            {"eos_token_id", 2},
            {"pad_token_id", 1}};
  }
  return {{"architectures", {"Blip2ForConditionalGeneration"}},
          {"model_type", "blip-2"},
          {"num_query_tokens", o.query_tokens},
          {"use_decoder_only_language_model", !is_t5},
          {"is_encoder_decoder", is_t5},
          {"tie_word_embeddings", !is_t5},
          {"torch_dtype", "float32"},
          {"initializer_range", o.init_std},
          {"vision_config", vision},
          {"qformer_config", qformer},
          {"text_config", text},
          {"capbench_note", "random weights written by make-random-blip2: captions are noise"}};
}

}  // namespace

std::vector<std::pair<std::string, std::vector<int64_t>>> random_blip2_tensors(const RandomBlip2Options& o,
                                                                               int64_t vocab_size) {
  if (o.language_model != "opt" && o.language_model != "t5")
    throw Error("language model must be \"opt\" or \"t5\" (got \"" + o.language_model + "\")");
  if (o.image_size % o.patch_size != 0) throw Error("image size must be a multiple of the patch size");
  for (auto [hidden, heads, what] : {std::tuple{o.vision_hidden, o.vision_heads, "vision"},
                                     std::tuple{o.qformer_hidden, o.qformer_heads, "Q-Former"},
                                     std::tuple{o.text_hidden, o.text_heads, "text"}})
    if (hidden % heads != 0) throw Error(std::string(what) + " hidden size must be a multiple of its head count");
  Shapes s;
  if (o.language_model == "t5")
    t5(s, o, vocab_size);
  else
    opt(s, o, vocab_size);
  qformer(s, o);
  vision(s, o);
  return s;
}

void write_random_blip2(const fs::path& out, const RandomBlip2Options& o) {
  if (o.tokenizer.empty() && o.vocab_size <= 0)
    throw Error("a tokenizer folder or a vocabulary size is needed to write a random BLIP-2");
  int64_t vocab = o.vocab_size > 0 ? o.vocab_size : tokenizer_size(o.tokenizer);
  auto shapes = random_blip2_tensors(o, vocab);
  fs::create_directories(out);

  at::Generator generator = at::detail::createCPUGenerator(o.seed);
  std::vector<std::pair<std::string, at::Tensor>> tensors;
  for (const auto& [name, shape] : shapes) {
    bool bias = name.size() > 5 && name.compare(name.size() - 5, 5, ".bias") == 0;
    at::Tensor t;
    if (is_norm(name))
      t = bias ? at::zeros(shape) : at::ones(shape);
    else if (bias)
      t = at::zeros(shape);
    else
      t = at::normal(0.0, o.init_std, shape, generator);
    tensors.emplace_back(name, t);
  }
  write_safetensors(out / "model.safetensors", tensors, {{"format", "pt"}});

  write_json(out / "config.json", config(o, vocab));
  write_json(out / "preprocessor_config.json",
             {{"do_convert_rgb", true},
              {"do_normalize", true},
              {"do_rescale", true},
              {"do_resize", true},
              {"image_mean", {0.48145466, 0.4578275, 0.40821073}},
              {"image_std", {0.26862954, 0.26130258, 0.27577711}},
              {"image_processor_type", "BlipImageProcessor"},
              {"processor_class", "Blip2Processor"},
              {"resample", 3},
              {"rescale_factor", 1.0 / 255.0},
              {"size", {{"height", o.image_size}, {"width", o.image_size}}}});
  bool is_t5 = o.language_model == "t5";
  write_json(out / "generation_config.json", is_t5 ? nlohmann::json{{"decoder_start_token_id", 0}, {"eos_token_id", 1}, {"pad_token_id", 0}}
                                                   : nlohmann::json{{"bos_token_id", 2}, {"eos_token_id", 2}, {"pad_token_id", 1}});
  if (o.tokenizer.empty()) return;
  for (const char* name : {"vocab.json", "merges.txt", "tokenizer_config.json", "special_tokens_map.json", "spiece.model",
                           "added_tokens.json", "tokenizer.json"})
    if (fs::is_regular_file(o.tokenizer / name))
      fs::copy_file(o.tokenizer / name, out / name, fs::copy_options::overwrite_existing);
}

}  // namespace capbench
