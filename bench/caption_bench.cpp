// Captioning throughput of capbench on random-weight BLIP-2 models: images/s of
// the whole path (encoder + bridge + decoder with greedy or beam search),
// milliseconds per generated token at the first and the last step, peak RSS.
//
//   caption_bench [--model small|opt125m|NAME,...] [--batch-sizes 1,8,32]
//                 [--beams 1,3] [--max-new-tokens N] [--threads N]
//                 [--workdir DIR] [--text-only] [--plugins DIR]
//
// The bench writes each model once (config.json + model.safetensors in HF
// layout, N(0, 0.02) weights) into --workdir and reuses it. Every row generates
// exactly max-new-tokens tokens (EOS is forbidden until then), so timings do not
// depend on where random weights happen to emit EOS.
#include <sys/resource.h>
#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/error.h"
#include "core/generation.h"
#include "core/plugin_loader.h"
#include "core/safetensors.h"

using namespace capbench;

namespace {

struct ModelShape {
  std::string name;
  int64_t vision_hidden, vision_layers, vision_heads, vision_mlp, patch, image = 224;
  int64_t qformer_hidden, qformer_layers, qformer_heads, qformer_ffn, queries = 32;
  int64_t opt_hidden, opt_layers, opt_heads, opt_ffn, vocab = 50272;
};

// The two models of DESIGN.md's performance table.
const std::vector<ModelShape> kShapes = {
    {"small", 384, 6, 6, 1536, 14, 224, 384, 4, 6, 1536, 32, 512, 6, 8, 2048, 50272},
    {"opt125m", 768, 12, 12, 3072, 16, 224, 768, 12, 12, 3072, 32, 768, 12, 12, 3072, 50272},
};

nlohmann::json config_of(const ModelShape& s) {
  return {{"architectures", {"Blip2ForConditionalGeneration"}},
          {"model_type", "blip-2"},
          {"num_query_tokens", s.queries},
          {"use_decoder_only_language_model", true},
          {"vision_config",
           {{"hidden_size", s.vision_hidden}, {"num_hidden_layers", s.vision_layers},
            {"num_attention_heads", s.vision_heads}, {"intermediate_size", s.vision_mlp},
            {"patch_size", s.patch}, {"image_size", s.image}, {"model_type", "blip_2_vision_model"}}},
          {"qformer_config",
           {{"hidden_size", s.qformer_hidden}, {"num_hidden_layers", s.qformer_layers},
            {"num_attention_heads", s.qformer_heads}, {"intermediate_size", s.qformer_ffn},
            {"encoder_hidden_size", s.vision_hidden}, {"model_type", "blip_2_qformer"}}},
          {"text_config",
           {{"hidden_size", s.opt_hidden}, {"num_hidden_layers", s.opt_layers},
            {"num_attention_heads", s.opt_heads}, {"ffn_dim", s.opt_ffn}, {"vocab_size", s.vocab},
            {"word_embed_proj_dim", s.opt_hidden}, {"max_position_embeddings", 2048}, {"model_type", "opt"}}}};
}

// Tensors of a Blip2ForConditionalGeneration with OPT, named as transformers saves them.
std::vector<std::pair<std::string, at::Tensor>> random_weights(const ModelShape& s) {
  std::vector<std::pair<std::string, at::Tensor>> t;
  auto normal = [&](const std::string& name, std::vector<int64_t> shape) {
    t.emplace_back(name, torch::randn(shape) * 0.02);
  };
  auto linear = [&](const std::string& name, int64_t in, int64_t out, bool bias = true) {
    normal(name + ".weight", {out, in});
    if (bias) t.emplace_back(name + ".bias", torch::zeros({out}));
  };
  auto norm = [&](const std::string& name, int64_t n) {
    t.emplace_back(name + ".weight", torch::ones({n}));
    t.emplace_back(name + ".bias", torch::zeros({n}));
  };
  const int64_t patches = (s.image / s.patch) * (s.image / s.patch);
  const std::string v = "vision_model.";
  normal(v + "embeddings.class_embedding", {1, 1, s.vision_hidden});
  normal(v + "embeddings.patch_embedding.weight", {s.vision_hidden, 3, s.patch, s.patch});
  t.emplace_back(v + "embeddings.patch_embedding.bias", torch::zeros({s.vision_hidden}));
  normal(v + "embeddings.position_embedding", {1, patches + 1, s.vision_hidden});
  for (int64_t i = 0; i < s.vision_layers; ++i) {
    const std::string l = v + "encoder.layers." + std::to_string(i) + ".";
    norm(l + "layer_norm1", s.vision_hidden);
    norm(l + "layer_norm2", s.vision_hidden);
    linear(l + "mlp.fc1", s.vision_hidden, s.vision_mlp);
    linear(l + "mlp.fc2", s.vision_mlp, s.vision_hidden);
    linear(l + "self_attn.projection", s.vision_hidden, s.vision_hidden);
    linear(l + "self_attn.qkv", s.vision_hidden, 3 * s.vision_hidden);
  }
  norm(v + "post_layernorm", s.vision_hidden);

  normal("query_tokens", {1, s.queries, s.qformer_hidden});
  norm("qformer.layernorm", s.qformer_hidden);
  for (int64_t i = 0; i < s.qformer_layers; ++i) {
    const std::string l = "qformer.encoder.layer." + std::to_string(i) + ".";
    for (const std::string a : {"query", "key", "value"})
      linear(l + "attention.attention." + a, s.qformer_hidden, s.qformer_hidden);
    linear(l + "attention.output.dense", s.qformer_hidden, s.qformer_hidden);
    norm(l + "attention.output.LayerNorm", s.qformer_hidden);
    if (i % 2 == 0) {  // cross_attention_frequency 2
      linear(l + "crossattention.attention.query", s.qformer_hidden, s.qformer_hidden);
      linear(l + "crossattention.attention.key", s.vision_hidden, s.qformer_hidden);
      linear(l + "crossattention.attention.value", s.vision_hidden, s.qformer_hidden);
      linear(l + "crossattention.output.dense", s.qformer_hidden, s.qformer_hidden);
      norm(l + "crossattention.output.LayerNorm", s.qformer_hidden);
    }
    linear(l + "intermediate_query.dense", s.qformer_hidden, s.qformer_ffn);
    linear(l + "output_query.dense", s.qformer_ffn, s.qformer_hidden);
    norm(l + "output_query.LayerNorm", s.qformer_hidden);
  }
  linear("language_projection", s.qformer_hidden, s.opt_hidden);

  const std::string d = "language_model.model.decoder.";
  normal(d + "embed_tokens.weight", {s.vocab, s.opt_hidden});
  normal(d + "embed_positions.weight", {2048 + 2, s.opt_hidden});
  for (int64_t i = 0; i < s.opt_layers; ++i) {
    const std::string l = d + "layers." + std::to_string(i) + ".";
    for (const std::string p : {"q_proj", "k_proj", "v_proj", "out_proj"})
      linear(l + "self_attn." + p, s.opt_hidden, s.opt_hidden);
    norm(l + "self_attn_layer_norm", s.opt_hidden);
    linear(l + "fc1", s.opt_hidden, s.opt_ffn);
    linear(l + "fc2", s.opt_ffn, s.opt_hidden);
    norm(l + "final_layer_norm", s.opt_hidden);
  }
  norm(d + "final_layer_norm", s.opt_hidden);
  return t;
}

std::filesystem::path ensure_model(const ModelShape& shape, const std::filesystem::path& workdir) {
  const std::filesystem::path folder = workdir / ("blip2-" + shape.name + "-random");
  const nlohmann::json config = config_of(shape);
  const std::filesystem::path config_file = folder / "config.json";
  if (std::filesystem::exists(folder / "model.safetensors") && std::filesystem::exists(config_file)) {
    std::ifstream in(config_file);
    if (nlohmann::json::parse(in) == config) return folder;
  }
  std::filesystem::create_directories(folder);
  std::cerr << "writing random-weight model " << folder << "\n";
  torch::manual_seed(0);
  write_safetensors(folder / "model.safetensors", random_weights(shape), {{"format", "pt"}});
  std::ofstream(config_file) << config.dump(2) << "\n";
  return folder;
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

double peak_rss_mib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss / 1024.0;
}

std::vector<int64_t> int_list(const std::string& text) {
  std::vector<int64_t> out;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');)
    if (!item.empty()) out.push_back(std::stoll(item));
  return out;
}

struct Components {
  std::shared_ptr<ImageEncoder> encoder;
  std::shared_ptr<Bridge> bridge;
  std::shared_ptr<TextDecoder> decoder;
};

at::Tensor soft_prompt_for(Components& c, const ModelShape& shape, int64_t batch, bool text_only) {
  if (text_only) return torch::randn({batch, shape.queries, shape.opt_hidden});
  at::Tensor pixels = torch::randn({batch, 3, shape.image, shape.image});
  return c.bridge->bridge(c.encoder->encode(pixels).last_hidden_state).soft_prompt;
}

void bench_model(const ModelShape& shape, Components& c, const std::vector<int64_t>& batches,
                 const std::vector<int64_t>& beams, int64_t max_new_tokens, bool text_only) {
  GenerationOptions options;
  options.max_new_tokens = max_new_tokens;
  options.min_new_tokens = max_new_tokens;
  for (int64_t batch : batches) {
    const at::Tensor ids = torch::full({batch, 1}, c.decoder->spec().bos_token_id, torch::kLong);
    const at::Tensor mask = torch::ones_like(ids);
    for (int64_t beam : beams) {
      options.num_beams = beam;
      const auto start = std::chrono::steady_clock::now();
      at::Tensor soft = soft_prompt_for(c, shape, batch, text_only);
      const double image_side = seconds_since(start);
      GenerationOutput out = generate(*c.decoder, soft, ids, mask, options);
      const double total = seconds_since(start);
      std::printf("%-8s batch %3lld  %s  %7.2f img/s   (%s %.2f s, decoder %.2f s)   peak RSS %.0f MiB\n",
                  shape.name.c_str(), static_cast<long long>(batch), beam == 1 ? "greedy" : ("beam " + std::to_string(beam)).c_str(),
                  batch / total, text_only ? "soft prompt" : "image side", image_side, total - image_side, peak_rss_mib());
      std::fflush(stdout);
    }
    // Cost of one decoding step at the first and the last position (greedy rows).
    TextDecoder::Start started = c.decoder->start(torch::randn({batch, shape.queries, shape.opt_hidden}), ids, mask);
    const at::Tensor tokens = torch::full({batch}, 100, torch::kLong);
    double first = 0, last = 0;
    for (int64_t step = 1; step <= max_new_tokens; ++step) {
      const auto t0 = std::chrono::steady_clock::now();
      c.decoder->step(*started.state, tokens);
      const double ms = seconds_since(t0) * 1000.0;
      if (step == 1) first = ms;
      if (step == max_new_tokens) last = ms;
    }
    std::printf("%-8s batch %3lld  step 1: %.2f ms (%.2f ms/token)   step %lld: %.2f ms (%.2f ms/token)\n",
                shape.name.c_str(), static_cast<long long>(batch), first, first / batch,
                static_cast<long long>(max_new_tokens), last, last / batch);
    std::fflush(stdout);
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::string models = "small", workdir = (std::filesystem::temp_directory_path() / "capbench-caption-bench").string();
  std::string batch_text, beam_text = "1,3";
  std::vector<std::string> plugin_dirs;
  int64_t max_new_tokens = 0, threads = 0;
  bool text_only = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw Error(arg + " needs a value");
      return argv[++i];
    };
    if (arg == "--model") models = value();
    else if (arg == "--batch-sizes") batch_text = value();
    else if (arg == "--beams") beam_text = value();
    else if (arg == "--max-new-tokens") max_new_tokens = std::stoll(value());
    else if (arg == "--threads") threads = std::stoll(value());
    else if (arg == "--workdir") workdir = value();
    else if (arg == "--plugins") plugin_dirs.push_back(value());
    else if (arg == "--text-only") text_only = true;
    else {
      std::cerr << "usage: caption_bench [--model small|opt125m|small,opt125m] [--batch-sizes 1,8,32] [--beams 1,3]\n"
                   "                     [--max-new-tokens N] [--threads N] [--workdir DIR] [--plugins DIR] [--text-only]\n";
      return arg == "--help" ? 0 : 2;
    }
  }
  try {
    if (threads > 0) at::set_num_threads(static_cast<int>(threads));
    c10::InferenceMode inference;
    if (plugin_dirs.empty())  // beside the build's bench/ folder
      plugin_dirs.push_back((std::filesystem::canonical("/proc/self/exe").parent_path().parent_path() / "plugins").string());
    PluginRegistry registry(PluginRegistry::search_path(plugin_dirs));
    std::printf("libtorch %s, %d threads\n", TORCH_VERSION, at::get_num_threads());
    std::stringstream names(models);
    for (std::string name; std::getline(names, name, ',');) {
      const ModelShape* shape = nullptr;
      for (const auto& s : kShapes)
        if (s.name == name) shape = &s;
      if (!shape) throw Error("unknown model '" + name + "' (small, opt125m)");
      // DESIGN.md's comparison: small at batch 4 and 20 new tokens; the issue's: batch 1, 8, 32 and 30.
      const bool small = shape->name == "small";
      const std::vector<int64_t> batches = int_list(batch_text.empty() ? (small ? "4" : "1,8,32") : batch_text);
      const int64_t tokens = max_new_tokens > 0 ? max_new_tokens : (small ? 20 : 30);
      const std::filesystem::path folder = ensure_model(*shape, workdir);
      ComponentContext ctx;
      ctx.checkpoint = folder;
      ctx.device = "cpu";
      ctx.dtype = "fp32";
      Components c;
      const auto load_start = std::chrono::steady_clock::now();
      if (!text_only) {
        ComponentContext e = ctx, b = ctx;
        c.encoder = registry.create<ImageEncoder>("blip2-vision", e);
        c.bridge = registry.create<Bridge>("qformer", b);
      }
      ComponentContext d = ctx;
      c.decoder = registry.create<TextDecoder>("opt", d);
      std::printf("%s: loaded in %.2f s, peak RSS %.0f MiB\n", shape->name.c_str(), seconds_since(load_start), peak_rss_mib());
      bench_model(*shape, c, batches, int_list(beam_text), tokens, text_only);
    }
  } catch (const std::exception& e) {
    std::cerr << "caption_bench: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
