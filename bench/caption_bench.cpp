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
#include <iostream>
#include <sstream>

#include "core/error.h"
#include "core/generation.h"
#include "core/plugin_loader.h"
#include "core/random_blip2.h"

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

RandomBlip2Options options_of(const ModelShape& s) {
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
std::filesystem::path ensure_model(const ModelShape& shape, const std::filesystem::path& workdir) {
  std::string name = "blip2-" + shape.name;
  for (int64_t d : {shape.vision_hidden, shape.vision_layers, shape.vision_heads, shape.vision_mlp, shape.patch, shape.image,
                    shape.qformer_hidden, shape.qformer_layers, shape.qformer_heads, shape.qformer_ffn, shape.queries,
                    shape.opt_hidden, shape.opt_layers, shape.opt_heads, shape.opt_ffn, shape.vocab})
    name += "-" + std::to_string(d);
  const std::filesystem::path folder = workdir / name;
  if (std::filesystem::exists(folder / "model.safetensors")) return folder;
  std::cerr << "writing random-weight model " << folder << "\n";
  write_random_blip2(folder, options_of(shape));
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
    const auto prefill_start = std::chrono::steady_clock::now();
    TextDecoder::Start started = c.decoder->start(torch::randn({batch, shape.queries, shape.opt_hidden}), ids, mask);
    const double prefill = seconds_since(prefill_start) * 1000.0;
    const at::Tensor tokens = torch::full({batch}, 100, torch::kLong);
    double first = 0, last = 0;
    for (int64_t step = 1; step <= max_new_tokens; ++step) {
      const auto t0 = std::chrono::steady_clock::now();
      c.decoder->step(*started.state, tokens);
      const double ms = seconds_since(t0) * 1000.0;
      if (step == 1) first = ms;
      if (step == max_new_tokens) last = ms;
    }
    std::printf("%-8s batch %3lld  prefill %.2f ms   step 1: %.2f ms (%.2f ms/token)   step %lld: %.2f ms (%.2f ms/token)\n",
                shape.name.c_str(), static_cast<long long>(batch), prefill, first, first / batch,
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
