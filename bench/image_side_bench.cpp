// Images per second of the BLIP-2 image side -- preprocessing (decode + Pillow
// bicubic resize + normalise), the blip2-vision encoder and the qformer bridge,
// each alone -- at several batch sizes, on a random-weight ViT-B/16-sized model
// that the bench writes itself; then peak memory and the BLAS libtorch uses.
//
//   image_side_bench [--batches 1,8,32] [--min-seconds 1] [--dtype fp32] [--device cpu] [--plugins DIR]
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <functional>
#include <iomanip>
#include <iostream>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <set>
#include <sstream>

#include "core/image_processor.h"
#include "core/plugin_loader.h"
#include "core/random_blip2.h"

namespace fs = std::filesystem;

namespace {

struct Options {
  std::vector<int64_t> batches{1, 8, 32};
  double min_seconds = 1.0;
  std::string dtype = "fp32";
  std::string device = "cpu";
  std::vector<std::string> plugin_dirs;
};

// ViT-B/16 (hidden 768, 12 layers, 12 heads, MLP 3072, 224 px) and a Q-Former
// of BERT-base size (768 x 12, 32 queries), projecting to 768. The language
// model is written as small as the format allows: the bench never loads it.
constexpr int64_t kImage = 224;

void write_random_checkpoint(const fs::path& dir) {
  capbench::RandomBlip2Options o;
  o.vision_hidden = 768, o.vision_layers = 12, o.vision_heads = 12, o.vision_intermediate = 3072;
  o.image_size = kImage, o.patch_size = 16;
  o.qformer_hidden = 768, o.qformer_layers = 12, o.qformer_heads = 12, o.qformer_intermediate = 3072;
  o.query_tokens = 32;
  o.text_hidden = 768, o.text_layers = 1, o.text_heads = 12, o.text_ffn = 16, o.vocab_size = 16, o.max_positions = 16;
  capbench::write_random_blip2(dir, o);
}

// 640x480 JPEGs (smooth colour ramps plus noise, quality 90): typical photo decoding work.
std::vector<fs::path> write_images(const fs::path& dir, int count) {
  std::vector<fs::path> files;
  cv::RNG rng(1);
  for (int i = 0; i < count; ++i) {
    cv::Mat img(480, 640, CV_8UC3);
    for (int y = 0; y < img.rows; ++y)
      for (int x = 0; x < img.cols; ++x)
        img.at<cv::Vec3b>(y, x) = cv::Vec3b(static_cast<uint8_t>((x + i * 7) % 256), static_cast<uint8_t>(y % 256),
                                            static_cast<uint8_t>((x + y) / 5 % 256));
    cv::Mat noise(img.size(), img.type());
    rng.fill(noise, cv::RNG::UNIFORM, 0, 24);
    img += noise;
    files.push_back(dir / ("image" + std::to_string(i) + ".jpg"));
    cv::imwrite(files.back().string(), img, {cv::IMWRITE_JPEG_QUALITY, 90});
  }
  return files;
}

// Images per second of `run` (which processes `batch` images), repeated for at least min_seconds after one warm-up.
double images_per_second(int64_t batch, double min_seconds, const std::function<void()>& run) {
  run();
  int runs = 0;
  const auto start = std::chrono::steady_clock::now();
  double elapsed = 0;
  do {
    run();
    ++runs;
    elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  } while (elapsed < min_seconds);
  return static_cast<double>(runs * batch) / elapsed;
}

std::string blas_libraries() {
  std::ifstream maps("/proc/self/maps");
  std::set<std::string> found;
  std::string line;
  while (std::getline(maps, line)) {
    const auto slash = line.find('/');
    if (slash == std::string::npos) continue;
    const std::string path = line.substr(slash);
    const std::string file = fs::path(path).filename().string();
    if (file.find("blas") != std::string::npos || file.find("mkl") != std::string::npos) found.insert(path);
  }
  std::string out;
  for (const auto& p : found) out += (out.empty() ? "" : ", ") + p;
  return out.empty() ? "(none mapped)" : out;
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw std::runtime_error(a + " needs a value");
      return argv[++i];
    };
    if (a == "--batches") {
      o.batches.clear();
      std::stringstream list(value());
      for (std::string item; std::getline(list, item, ',');) o.batches.push_back(std::stoll(item));
    } else if (a == "--min-seconds") {
      o.min_seconds = std::stod(value());
    } else if (a == "--dtype") {
      o.dtype = value();
    } else if (a == "--device") {
      o.device = value();
    } else if (a == "--plugins") {
      o.plugin_dirs.push_back(value());
    } else {
      throw std::runtime_error("unknown option " + a +
                               " (--batches 1,8,32 --min-seconds S --dtype D --device D --plugins DIR)");
    }
  }
  return o;
}

}  // namespace

int main(int argc, char** argv) try {
  const Options options = parse(argc, argv);
  const fs::path dir = fs::temp_directory_path() / ("capbench-image-bench-" + std::to_string(getpid()));
  fs::create_directories(dir);
  // The checkpoint is written by a child process, so that the 0.75 GB it holds
  // while writing does not count in this process's peak memory.
  const pid_t child = fork();
  if (child == 0) {
    write_random_checkpoint(dir);
    _exit(0);
  }
  int status = 0;
  waitpid(child, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) throw std::runtime_error("writing the random checkpoint failed");
  int64_t most = 1;
  for (int64_t b : options.batches) most = std::max(most, b);
  const std::vector<fs::path> images = write_images(dir, static_cast<int>(most));

  std::vector<std::string> plugin_dirs = options.plugin_dirs;
  if (plugin_dirs.empty() && !std::getenv("CAPBENCH_PLUGIN_PATH"))
    plugin_dirs.push_back((fs::canonical("/proc/self/exe").parent_path().parent_path() / "plugins").string());
  const capbench::PluginRegistry registry(capbench::PluginRegistry::search_path(plugin_dirs));
  capbench::ComponentContext ctx{dir, options.device, options.dtype, capbench::Settings()};
  auto encoder = registry.create<capbench::ImageEncoder>("blip2-vision", ctx);
  capbench::ComponentContext bridge_ctx{dir, options.device, options.dtype, capbench::Settings()};
  auto bridge = registry.create<capbench::Bridge>("qformer", bridge_ctx);
  const capbench::ImageProcessor processor{capbench::ImageProcessorConfig{}};

  std::cout << "image side, random weights: ViT 768x12 (12 heads, MLP 3072, patch 16, 224 px), "
               "Q-Former 768x12 (32 queries); "
            << options.dtype << " on " << options.device << ", " << at::get_num_threads() << " threads\n"
            << std::left << std::setw(7) << "batch" << std::setw(22) << "preprocess img/s" << std::setw(22)
            << "encoder img/s" << "bridge img/s\n";
  for (int64_t batch : options.batches) {
    const std::vector<fs::path> files(images.begin(), images.begin() + batch);
    const double pre = images_per_second(batch, options.min_seconds, [&] { processor.load_batch(files); });
    const at::Tensor pixels = at::randn({batch, 3, kImage, kImage});
    at::Tensor features;
    const double enc = images_per_second(batch, options.min_seconds, [&] {
      features = encoder->encode(pixels, false).last_hidden_state;
      if (features.is_cuda()) features.cpu();  // waits for the GPU
    });
    const double bri = images_per_second(batch, options.min_seconds, [&] {
      const at::Tensor out = bridge->bridge(features, false).soft_prompt;
      if (out.is_cuda()) out.cpu();
    });
    std::cout << std::fixed << std::setprecision(2) << std::setw(7) << batch << std::setw(22) << pre << std::setw(22)
              << enc << bri << "\n";
  }
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  std::cout << "peak RSS: " << usage.ru_maxrss / 1024 << " MiB\n"
            << "BLAS libraries mapped: " << blas_libraries() << "\n";
  fs::remove_all(dir);
  return 0;
} catch (const std::exception& e) {
  std::cerr << "image_side_bench: " << e.what() << "\n";
  return 1;
}
