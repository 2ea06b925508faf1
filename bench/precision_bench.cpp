// How far bf16 and int8 captions stray from fp32's, on the benchmark models
// (random weights, written as caption_bench writes them) and the test
// fixtures' tiny BLIP-2 models, over the same images:
//   greedy / beam 3   the fraction of captions whose ids equal fp32's;
//   top-1 agreement   along fp32's greedy captions (each step fed fp32's token),
//                     the fraction of steps whose most likely next token is fp32's;
//   largest |logit difference| over those steps, next to the largest |logit|.
// Every component (encoder, bridge, decoder) runs in the dtype compared.
//
//   precision_bench [--models small,opt125m,fixtures] [--dtypes bf16,int8] [--images DIR]
//                   [--max-new-tokens 20] [--fixtures tests/fixtures] [--workdir DIR]
//                   [--threads N] [--plugins DIR]
#include <torch/torch.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <sstream>

#include "app/image_pipeline.h"
#include "bench/bench_models.h"
#include "core/error.h"
#include "core/generation.h"
#include "core/plugin_loader.h"

using namespace capbench;
using bench::word_list;
namespace fs = std::filesystem;

namespace {

struct Model {
  std::string label;
  fs::path folder;
  std::string decoder;  // plugin
};

struct Run {
  at::Tensor soft_prompt;
  std::shared_ptr<TextDecoder> decoder;
};

Run load(const PluginRegistry& registry, const Model& model, const std::string& dtype,
         const std::vector<fs::path>& images) {
  ComponentContext ctx;
  ctx.checkpoint = model.folder;
  ctx.device = "cpu";
  ctx.dtype = dtype;
  ImagePipeline pipeline(registry, {"blip2-vision", ctx}, {"qformer", ctx}, model.folder);
  Run run;
  run.soft_prompt = pipeline.run(images).bridge.soft_prompt;
  ComponentContext d = ctx;
  run.decoder = registry.create<TextDecoder>(model.decoder, d);
  return run;
}

std::vector<std::vector<int64_t>> best_ids(const GenerationOutput& out) {
  std::vector<std::vector<int64_t>> ids;
  for (const auto& captions : out.captions) ids.push_back(captions.front().ids);
  return ids;
}

struct Agreement {
  int64_t steps = 0, same = 0;
  double largest_difference = 0, largest_logit = 0;
};

// Feeds `run` fp32's greedy tokens (ids without their leading token), comparing
// each step's logits with fp32's.
void teacher_forced(Run& fp32, Run& other, const at::Tensor& prompt, const std::vector<std::vector<int64_t>>& ids,
                    int64_t max_new_tokens, Agreement& a) {
  const int64_t rows = prompt.size(0);
  TextDecoder::Start s32 = fp32.decoder->start_for_steps(fp32.soft_prompt, prompt, at::ones_like(prompt), max_new_tokens);
  TextDecoder::Start s = other.decoder->start_for_steps(other.soft_prompt, prompt, at::ones_like(prompt), max_new_tokens);
  at::Tensor l32 = s32.logits, l = s.logits;
  const int64_t eos = fp32.decoder->spec().eos_token_id;
  std::vector<bool> live(static_cast<size_t>(rows), true);
  for (int64_t step = 0; step < max_new_tokens; ++step) {
    const at::Tensor top32 = l32.argmax(1), top = l.argmax(1);
    const at::Tensor difference = (l - l32).abs().amax(1), largest = l32.abs().amax(1);
    std::vector<int64_t> next(static_cast<size_t>(rows), eos < 0 ? 0 : eos);
    for (int64_t r = 0; r < rows; ++r) {
      const auto& row = ids[static_cast<size_t>(r)];
      if (!live[static_cast<size_t>(r)]) continue;
      ++a.steps;
      a.same += top32[r].item<int64_t>() == top[r].item<int64_t>();
      a.largest_difference = std::max(a.largest_difference, difference[r].item<double>());
      a.largest_logit = std::max(a.largest_logit, largest[r].item<double>());
      // ids: [lead, t1, t2, ...]; step k is followed by token t_{k+1}.
      if (static_cast<size_t>(step + 1) >= row.size() || row[static_cast<size_t>(step + 1)] == eos) {
        live[static_cast<size_t>(r)] = false;
        continue;
      }
      next[static_cast<size_t>(r)] = row[static_cast<size_t>(step + 1)];
    }
    if (step + 1 == max_new_tokens || std::none_of(live.begin(), live.end(), [](bool b) { return b; })) break;
    const at::Tensor tokens = at::tensor(next, at::kLong);
    l32 = fp32.decoder->step(*s32.state, tokens);
    l = other.decoder->step(*s.state, tokens);
  }
}

double identical(const std::vector<std::vector<int64_t>>& a, const std::vector<std::vector<int64_t>>& b) {
  int64_t same = 0;
  for (size_t i = 0; i < a.size(); ++i) same += a[i] == b[i];
  return static_cast<double>(same) / static_cast<double>(a.size());
}

}  // namespace

int main(int argc, char** argv) {
  std::string models = "small,opt125m,fixtures", dtypes = "bf16,int8";
  fs::path images_dir = "experiments/demo/images", fixtures = "tests/fixtures",
           workdir = fs::temp_directory_path() / "capbench-caption-bench";
  std::vector<std::string> plugin_dirs;
  int64_t max_new_tokens = 20, threads = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw Error(arg + " needs a value");
      return argv[++i];
    };
    if (arg == "--models") models = value();
    else if (arg == "--dtypes") dtypes = value();
    else if (arg == "--images") images_dir = value();
    else if (arg == "--fixtures") fixtures = value();
    else if (arg == "--max-new-tokens") max_new_tokens = std::stoll(value());
    else if (arg == "--workdir") workdir = value();
    else if (arg == "--threads") threads = std::stoll(value());
    else if (arg == "--plugins") plugin_dirs.push_back(value());
    else {
      std::cerr << "usage: precision_bench [--models small,opt125m,fixtures] [--dtypes bf16,int8] [--images DIR]\n"
                   "                       [--max-new-tokens 20] [--fixtures tests/fixtures] [--workdir DIR]\n"
                   "                       [--threads N] [--plugins DIR]\n";
      return arg == "--help" ? 0 : 2;
    }
  }
  try {
    if (threads > 0) {
      // nn::place() sets up every core unless OMP_NUM_THREADS names a count.
      ::setenv("OMP_NUM_THREADS", std::to_string(threads).c_str(), 1);
      at::set_num_threads(static_cast<int>(threads));
    }
    c10::InferenceMode inference;
    if (plugin_dirs.empty())
      plugin_dirs.push_back((fs::canonical("/proc/self/exe").parent_path().parent_path() / "plugins").string());
    PluginRegistry registry(PluginRegistry::search_path(plugin_dirs));
    std::vector<fs::path> images;
    for (const auto& dir : {images_dir, fixtures / "images"})
      if (fs::is_directory(dir))
        for (const auto& entry : fs::directory_iterator(dir)) {
          const std::string ext = entry.path().extension().string();
          if (ext == ".png" || ext == ".jpg" || ext == ".jpeg") images.push_back(entry.path());
        }
    std::sort(images.begin(), images.end());
    if (images.empty()) throw Error("no images in " + images_dir.string() + " or " + (fixtures / "images").string());

    std::vector<Model> list;
    for (const std::string& name : word_list(models)) {
      if (name == "fixtures") {
        list.push_back({"blip2-opt-tiny", fixtures / "blip2-opt-tiny", "opt"});
        list.push_back({"blip2-t5-tiny", fixtures / "blip2-t5-tiny", "t5"});
      } else {
        const bench::ModelShape& shape = bench::model_shape(name);
        list.push_back({shape.name, bench::ensure_model(shape, workdir), "opt"});
      }
    }
    std::printf("%zu images, up to %lld new tokens; teacher-forced along fp32's greedy captions\n\n", images.size(),
                static_cast<long long>(max_new_tokens));
    std::printf("| model | dtype | greedy ids = fp32 | beam 3 ids = fp32 | top-1 agreement per step | largest |logit diff| "
                "| largest |logit| |\n|---|---|---|---|---|---|---|\n");
    GenerationOptions greedy, beam;
    greedy.max_new_tokens = beam.max_new_tokens = max_new_tokens;
    beam.num_beams = 3;
    for (const Model& model : list) {
      Run fp32 = load(registry, model, "fp32", images);
      const DecoderSpec& spec = fp32.decoder->spec();
      const int64_t lead = spec.encoder_decoder ? spec.eos_token_id : spec.bos_token_id;  // an empty prompt
      const at::Tensor prompt = at::full({static_cast<int64_t>(images.size()), 1}, lead, at::kLong);
      const auto g32 = best_ids(generate(*fp32.decoder, fp32.soft_prompt, prompt, at::ones_like(prompt), greedy));
      const auto b32 = best_ids(generate(*fp32.decoder, fp32.soft_prompt, prompt, at::ones_like(prompt), beam));
      for (const std::string& dtype : word_list(dtypes)) {
        Run other = load(registry, model, dtype, images);
        const auto g = best_ids(generate(*other.decoder, other.soft_prompt, prompt, at::ones_like(prompt), greedy));
        const auto b = best_ids(generate(*other.decoder, other.soft_prompt, prompt, at::ones_like(prompt), beam));
        Agreement a;
        teacher_forced(fp32, other, prompt, g32, max_new_tokens, a);
        std::printf("| %s | %s | %.0f%% | %.0f%% | %.1f%% (%lld steps) | %.3g | %.3g |\n", model.label.c_str(),
                    dtype.c_str(), 100 * identical(g, g32), 100 * identical(b, b32),
                    100.0 * static_cast<double>(a.same) / static_cast<double>(a.steps), static_cast<long long>(a.steps),
                    a.largest_difference, a.largest_logit);
        std::fflush(stdout);
      }
    }
  } catch (const std::exception& e) {
    std::cerr << "precision_bench: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
