// A sweep of 6 decoding settings over 32 images, against the same 6 settings
// run one at a time (each loading the model and encoding the images itself).
// Prints wall times, their ratio (target <= 0.6) and images/second.
//
//   build/bench/sweep_bench [SOURCE_DIR]   (default: the working directory, the repository root)
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "app/experiment/experiment.h"
#include "app/results_store.h"
#include "app/runner/components.h"
#include "app/runner/runner.h"
#include "core/error.h"
#include "core/plugin_loader.h"
#include "core/random_blip2.h"

namespace fs = std::filesystem;
using namespace capbench;

namespace {

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

void fresh_file(const fs::path& file) {
  for (const char* suffix : {"", "-wal", "-shm"}) fs::remove(file.string() + suffix);
}

}  // namespace

int main(int argc, char** argv) {
  try {
    fs::path source = argc > 1 ? fs::path(argv[1]) : fs::current_path();
    fs::path self = fs::read_symlink("/proc/self/exe");
    fs::path work = self.parent_path() / "sweep-bench-data";
    fs::create_directories(work);

    // The `small` model of the design notes (ViT 384x6, Q-Former 384x4 with 32 queries,
    // OPT 512x6), with the tiny fixture tokenizer's vocabulary (660) instead of 50272.
    RandomBlip2Options model;
    model.vision_hidden = 384;
    model.vision_layers = 6;
    model.vision_heads = 6;
    model.vision_intermediate = 1536;
    model.qformer_hidden = 384;
    model.qformer_layers = 4;
    model.qformer_heads = 6;
    model.qformer_intermediate = 1536;
    model.query_tokens = 32;
    model.text_hidden = 512;
    model.text_layers = 6;
    model.text_heads = 8;
    model.text_ffn = 2048;
    model.seed = 7;
    model.tokenizer = source / "tests/fixtures/blip2-opt-tiny";
    write_random_blip2(work / "model", model);

    fs::path experiment_file = work / "sweep.toml";
    std::ofstream(experiment_file) << R"(name = "sweep-bench"
device = "cpu"
dtype = "fp32"
dataset = { kind = "folder", root = "images" }
model = { checkpoint = "model" }
encoder = { plugin = "blip2-vision" }
bridge = { plugin = "qformer" }
decoder = { plugin = "opt" }
generate = { max_new_tokens = 20 }
[sweep]
"generate.num_beams" = [1, 2, 3]
"generate.prompt" = ["", "a photo of"]
)";
    Experiment experiment = load_experiment(experiment_file);

    // 32 images: the demo photographs and the test images, repeated under their own ids.
    std::vector<fs::path> files;
    for (const char* dir : {"experiments/demo/images", "tests/fixtures/images"})
      for (const auto& entry : fs::directory_iterator(source / dir)) {
        std::string ext = entry.path().extension().string();
        if (ext == ".png" || ext == ".jpg") files.push_back(entry.path());
      }
    std::sort(files.begin(), files.end());
    if (files.empty()) throw Error("no images found under " + source.string());
    Dataset dataset;
    for (int i = 0; i < 32; ++i) {
      char id[16];
      std::snprintf(id, sizeof id, "img%02d", i);
      dataset.items.push_back({id, files[i % files.size()], {}});
    }

    std::vector<fs::path> plugin_dirs = PluginRegistry::search_path({});
    if (!std::getenv("CAPBENCH_PLUGIN_PATH")) plugin_dirs.insert(plugin_dirs.begin(), self.parent_path().parent_path() / "plugins");
    PluginRegistry registry(plugin_dirs);
    RunnerOptions options;
    options.batch_size = 8;

    // Warm-up (page cache, allocator, OpenMP threads): one setting on 8 images.
    {
      fs::path db = work / "warmup.sqlite";
      fresh_file(db);
      ResultsStore store(db);
      PluginComponents components(registry);
      Dataset few;
      few.items.assign(dataset.items.begin(), dataset.items.begin() + 8);
      RunnerOptions one = options;
      one.run_ids = {experiment.runs[0].id};
      run_sweep(experiment, few, components, nullptr, store, one);
    }

    fs::path sweep_db = work / "sweep.sqlite";
    fresh_file(sweep_db);
    auto start = std::chrono::steady_clock::now();
    {
      ResultsStore store(sweep_db);
      PluginComponents components(registry);
      run_sweep(experiment, dataset, components, nullptr, store, options);
    }
    double sweep_seconds = seconds_since(start);

    double separate_seconds = 0;
    for (const RunSpec& run : experiment.runs) {
      fs::path db = work / ("single-" + run.id + ".sqlite");
      fresh_file(db);
      auto t = std::chrono::steady_clock::now();
      ResultsStore store(db);
      PluginComponents components(registry);
      RunnerOptions one = options;
      one.run_ids = {run.id};
      run_sweep(experiment, dataset, components, nullptr, store, one);
      double s = seconds_since(t);
      separate_seconds += s;
      std::printf("  single run %-32s %6.2f s  %6.2f images/s\n", run.label.c_str(), s, dataset.items.size() / s);
    }

    const double captions = static_cast<double>(dataset.items.size() * experiment.runs.size());
    std::printf("sweep of %zu decoding settings over %zu images (batch %lld, ViT 384x6 + Q-Former 384x4 + OPT 512x6 (vocab 660), random weights, CPU fp32)\n",
                experiment.runs.size(), dataset.items.size(), static_cast<long long>(options.batch_size));
    std::printf("  one sweep (images encoded once):   %7.2f s  %6.2f captions/s\n", sweep_seconds, captions / sweep_seconds);
    std::printf("  6 separate single-setting runs:     %7.2f s  %6.2f captions/s\n", separate_seconds, captions / separate_seconds);
    std::printf("  ratio sweep / separate:             %7.3f  (target <= 0.6)\n", sweep_seconds / separate_seconds);
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "sweep_bench: error: " << e.what() << "\n";
    return 1;
  }
}
