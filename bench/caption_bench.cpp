// Captioning throughput of capbench on random-weight BLIP-2 models, in each
// compute dtype: images/s of the whole path (encoder + bridge + decoder with
// greedy or beam search) and, for the decoder alone, the time of one decoding
// step against its floor, the time to read the decoder's weights once at the
// machine's memory bandwidth (measured here: bench/memory_bandwidth.h).
//
//   caption_bench [--model small,opt125m] [--dtypes fp32,bf16,int8] [--batch-sizes 4,32]
//                 [--beams 1,3] [--max-new-tokens N] [--step-batches 1,4,8] [--threads N]
//                 [--workdir DIR] [--text-only] [--plugins DIR]
//
// The bench writes each model once (config.json + model.safetensors in HF
// layout, N(0, 0.02) weights: core/random_blip2.h) into --workdir and reuses
// it. Every row generates exactly max-new-tokens tokens (EOS is forbidden until
// then), so timings do not depend on where random weights happen to emit EOS.
// Peak RSS is the process's, over everything loaded so far.
#include <sys/resource.h>
#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <sstream>

#include "bench/bench_models.h"
#include "bench/memory_bandwidth.h"
#include "core/error.h"
#include "core/generation.h"
#include "core/nn/linear.h"
#include "core/plugin_loader.h"

using namespace capbench;
using bench::word_list;

namespace {

using bench::ModelShape;

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

// Bytes one decoding step reads for the decoder's linear weights (every layer
// and the lm_head) in `dtype`, from layers of its shapes packed as the plugin
// packs them.
double decoder_weight_bytes(const ModelShape& s, const std::string& dtype) {
  nn::Placement place;
  place.int8 = dtype == "int8";
  place.dtype = dtype == "bf16" ? at::kBFloat16 : at::kFloat;
  const std::optional<nn::PackedCompute> compute = nn::packed_compute_for(place);
  auto bytes = [&](int64_t out, int64_t in) {
    nn::Linear layer(at::randn({out, in}).to(place.dtype), at::zeros({out}).to(place.dtype));
    layer.prepare(compute);
    return static_cast<double>(layer.weight_bytes());
  };
  const double per_layer = 4 * bytes(s.opt_hidden, s.opt_hidden) + bytes(s.opt_ffn, s.opt_hidden) +
                           bytes(s.opt_hidden, s.opt_ffn);
  return s.opt_layers * per_layer + bytes(s.vocab, s.opt_hidden);
}

at::Tensor soft_prompt_for(Components& c, const ModelShape& shape, int64_t batch, bool text_only) {
  if (text_only) return torch::randn({batch, shape.queries, shape.opt_hidden});
  at::Tensor pixels = torch::randn({batch, 3, shape.image, shape.image});
  return c.bridge->bridge(c.encoder->encode(pixels).last_hidden_state).soft_prompt;
}

void bench_captions(const ModelShape& shape, const std::string& dtype, Components& c, const std::vector<int64_t>& batches,
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
      std::printf("captions  %-8s %-5s batch %3lld  %-7s %8.2f img/s   (%s %.2f s, decoder %.2f s)   peak RSS %.0f MiB\n",
                  shape.name.c_str(), dtype.c_str(), static_cast<long long>(batch),
                  beam == 1 ? "greedy" : ("beam " + std::to_string(beam)).c_str(), batch / total,
                  text_only ? "soft prompt" : "image side", image_side, total - image_side, peak_rss_mib());
      std::fflush(stdout);
    }
  }
}

// The mean time of the decoding steps after the first (greedy rows, the cache
// allocated for every step), against the floor of reading the weights once.
void bench_steps(const ModelShape& shape, const std::string& dtype, Components& c, const std::vector<int64_t>& batches,
                 int64_t max_new_tokens, double bandwidth) {
  const double weight_bytes = decoder_weight_bytes(shape, dtype);
  const double floor_ms = weight_bytes / bandwidth * 1e3;
  for (int64_t batch : batches) {
    const at::Tensor ids = torch::full({batch, 1}, c.decoder->spec().bos_token_id, torch::kLong);
    const auto prefill_start = std::chrono::steady_clock::now();
    TextDecoder::Start started = c.decoder->start_for_steps(torch::randn({batch, shape.queries, shape.opt_hidden}), ids,
                                                            torch::ones_like(ids), max_new_tokens);
    const double prefill = seconds_since(prefill_start) * 1000.0;
    const at::Tensor tokens = torch::full({batch}, 100, torch::kLong);
    double first = 0, rest = 0, best = 1e30;
    for (int64_t step = 1; step < max_new_tokens; ++step) {
      const auto t0 = std::chrono::steady_clock::now();
      c.decoder->step(*started.state, tokens);
      const double ms = seconds_since(t0) * 1000.0;
      if (step == 1) first = ms;
      else rest += ms, best = std::min(best, ms);
    }
    const double mean = max_new_tokens > 2 ? rest / static_cast<double>(max_new_tokens - 2) : first;
    if (max_new_tokens <= 2) best = first;
    std::printf("step      %-8s %-5s batch %3lld  prefill %7.2f ms  step 1 %6.2f ms  steps 2-%lld mean %6.2f ms (best %6.2f)"
                "  floor %6.2f ms (%.1f MB)  mean/floor %.2f\n",
                shape.name.c_str(), dtype.c_str(), static_cast<long long>(batch), prefill, first,
                static_cast<long long>(max_new_tokens - 1), mean, best, floor_ms, weight_bytes / 1e6, mean / floor_ms);
    std::fflush(stdout);
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::string models = "small", workdir = (std::filesystem::temp_directory_path() / "capbench-caption-bench").string();
  std::string batch_text, beam_text = "1,3", dtype_text = "fp32", step_text = "1,4,8";
  std::vector<std::string> plugin_dirs;
  int64_t max_new_tokens = 20, threads = 0;
  bool text_only = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw Error(arg + " needs a value");
      return argv[++i];
    };
    if (arg == "--model") models = value();
    else if (arg == "--dtypes") dtype_text = value();
    else if (arg == "--batch-sizes") batch_text = value();
    else if (arg == "--beams") beam_text = value();
    else if (arg == "--max-new-tokens") max_new_tokens = std::stoll(value());
    else if (arg == "--step-batches") step_text = value();
    else if (arg == "--threads") threads = std::stoll(value());
    else if (arg == "--workdir") workdir = value();
    else if (arg == "--plugins") plugin_dirs.push_back(value());
    else if (arg == "--text-only") text_only = true;
    else {
      std::cerr << "usage: caption_bench [--model small,opt125m] [--dtypes fp32,bf16,int8] [--batch-sizes 4,32]\n"
                   "                     [--beams 1,3] [--max-new-tokens 20] [--step-batches 1,4,8] [--threads N]\n"
                   "                     [--workdir DIR] [--plugins DIR] [--text-only]\n"
                   "(an empty list, e.g. --beams \"\" or --step-batches \"\", skips that part)\n";
      return arg == "--help" ? 0 : 2;
    }
  }
  try {
    if (max_new_tokens < 1) throw Error("--max-new-tokens must be at least 1");
    if (threads > 0) {
      // nn::place() sets up every core unless OMP_NUM_THREADS names a count.
      ::setenv("OMP_NUM_THREADS", std::to_string(threads).c_str(), 1);
      at::set_num_threads(static_cast<int>(threads));
    }
    c10::InferenceMode inference;
    if (plugin_dirs.empty())  // beside the build's bench/ folder
      plugin_dirs.push_back((std::filesystem::canonical("/proc/self/exe").parent_path().parent_path() / "plugins").string());
    PluginRegistry registry(PluginRegistry::search_path(plugin_dirs));
    const nn::CpuFeatures cpu = nn::cpu_features();
    const std::vector<int64_t> step_batches = int_list(step_text);
    const double bandwidth = step_batches.empty() ? 0 : bench::memory_bandwidth();
    std::printf("libtorch %s, %d threads, oneDNN ISA %s (VNNI %s, native bf16 %s, int8 weights %d bits)",
                TORCH_VERSION, at::get_num_threads(), cpu.isa.c_str(), cpu.vnni ? "yes" : "no",
                cpu.native_bf16 ? "yes" : "no", nn::int8_weight_bits());
    if (bandwidth > 0) std::printf(", memory bandwidth %.1f GB/s", bandwidth / 1e9);
    std::printf("\n%lld new tokens per caption\n", static_cast<long long>(max_new_tokens));
    for (const std::string& name : word_list(models)) {
      const ModelShape* shape = &bench::model_shape(name);
      const std::filesystem::path folder = bench::ensure_model(*shape, workdir);
      for (const std::string& dtype : word_list(dtype_text)) {
        ComponentContext ctx;
        ctx.checkpoint = folder;
        ctx.device = "cpu";
        ctx.dtype = dtype;
        Components c;
        const auto load_start = std::chrono::steady_clock::now();
        if (!text_only) {
          ComponentContext e = ctx, b = ctx;
          c.encoder = registry.create<ImageEncoder>("blip2-vision", e);
          c.bridge = registry.create<Bridge>("qformer", b);
        }
        ComponentContext d = ctx;
        c.decoder = registry.create<TextDecoder>("opt", d);
        std::printf("load      %-8s %-5s %.2f s, peak RSS %.0f MiB\n", shape->name.c_str(), dtype.c_str(),
                    seconds_since(load_start), peak_rss_mib());
        bench_captions(*shape, dtype, c, int_list(batch_text.empty() ? "4" : batch_text), int_list(beam_text),
                       max_new_tokens, text_only);
        bench_steps(*shape, dtype, c, step_batches, max_new_tokens, bandwidth);
      }
    }
  } catch (const std::exception& e) {
    std::cerr << "caption_bench: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
