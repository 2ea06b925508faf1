#pragma once
// The random-weight BLIP-2 models the benches share: ../shared/hf-baseline/bench_hf.py's
// `small` and `opt125m-like`, written once into a work folder (core/random_blip2.h).
#include <filesystem>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/random_blip2.h"

namespace capbench::bench {

// "a,b,,c" -> {"a", "b", "c"}: the benches' list options.
inline std::vector<std::string> word_list(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');)
    if (!item.empty()) out.push_back(item);
  return out;
}

struct ModelShape {
  std::string name;
  int64_t vision_hidden, vision_layers, vision_heads, vision_mlp, patch, image = 224;
  int64_t qformer_hidden, qformer_layers, qformer_heads, qformer_ffn, queries = 32;
  int64_t opt_hidden, opt_layers, opt_heads, opt_ffn, vocab = 50272;
};

inline const std::vector<ModelShape>& model_shapes() {
  static const std::vector<ModelShape> shapes = {
      {"small", 384, 6, 6, 1536, 14, 224, 384, 4, 6, 1536, 32, 512, 6, 8, 2048, 50272},
      {"opt125m", 768, 12, 12, 3072, 16, 224, 768, 12, 12, 3072, 32, 768, 12, 12, 3072, 50272},
  };
  return shapes;
}

// "small" or "opt125m" ("opt125m-like" too); throws Error otherwise.
inline const ModelShape& model_shape(const std::string& name) {
  for (const auto& s : model_shapes())
    if (s.name == name || s.name + "-like" == name) return s;
  throw Error("unknown model '" + name + "' (small, opt125m)");
}

inline RandomBlip2Options random_blip2_options(const ModelShape& s) {
  RandomBlip2Options o;
  o.vision_hidden = s.vision_hidden, o.vision_layers = s.vision_layers, o.vision_heads = s.vision_heads;
  o.vision_intermediate = s.vision_mlp, o.patch_size = s.patch, o.image_size = s.image;
  o.qformer_hidden = s.qformer_hidden, o.qformer_layers = s.qformer_layers, o.qformer_heads = s.qformer_heads;
  o.qformer_intermediate = s.qformer_ffn, o.query_tokens = s.queries;
  o.text_hidden = s.opt_hidden, o.text_layers = s.opt_layers, o.text_heads = s.opt_heads, o.text_ffn = s.opt_ffn;
  o.vocab_size = s.vocab, o.max_positions = 2048;
  return o;
}

// The model's folder under workdir, written on first use; its name holds every
// dimension, so a changed shape never reuses an old folder.
inline std::filesystem::path ensure_model(const ModelShape& shape, const std::filesystem::path& workdir) {
  std::string name = "blip2-" + shape.name;
  for (int64_t d : {shape.vision_hidden, shape.vision_layers, shape.vision_heads, shape.vision_mlp, shape.patch, shape.image,
                    shape.qformer_hidden, shape.qformer_layers, shape.qformer_heads, shape.qformer_ffn, shape.queries,
                    shape.opt_hidden, shape.opt_layers, shape.opt_heads, shape.opt_ffn, shape.vocab})
    name += "-" + std::to_string(d);
  const std::filesystem::path folder = workdir / name;
  if (std::filesystem::exists(folder / "model.safetensors")) return folder;
  std::cerr << "writing random-weight model " << folder << "\n";
  write_random_blip2(folder, random_blip2_options(shape));
  return folder;
}

}  // namespace capbench::bench
