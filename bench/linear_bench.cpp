// Milliseconds of one linear layer y = x W^T + b by each CPU path -- libtorch's
// at::linear, nn::Linear on libtorch's paths (what it does on CUDA or without
// oneDNN: matrix-vector product, BLAS, oneDNN's inner product) and nn::PackedLinear in
// fp32, bf16 (bf16 input) and int8 -- for the layer shapes of caption_bench's
// models and row counts from a decoding step (1-8) to an image batch (1028).
// The bench measures the machine's memory bandwidth (a sum over 512 MB) and,
// up to 8 rows, gives each time as a multiple of its floor: the time to read
// that path's weight bytes once at that bandwidth. Up to 32 rows the calls
// cycle through enough copies of the weights (>= 256 MB) that none is served
// from the caches, as in a model whose layers follow one another.
//
//   linear_bench [--models small,opt125m] [--rows 1,4,8,32,128,1028]
//                [--threads 2] [--min-seconds 0.3]
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <dlfcn.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "bench/memory_bandwidth.h"
#include "core/error.h"
#include "core/nn/linear.h"
#include "core/nn/packed_linear.h"

using namespace capbench;

namespace {

struct Layer {
  std::string model, name;
  int64_t out, in;
};

// caption_bench's models: small (ViT 384 / MLP 1536, OPT 512 / FFN 2048) and
// opt125m (768 / 3072 throughout), both with OPT's vocabulary of 50272.
const std::vector<Layer> kLayers = {{"small", "vit.fc1", 1536, 384}, {"small", "vit.fc2", 384, 1536},
                                    {"small", "opt.proj", 512, 512}, {"small", "opt.fc1", 2048, 512},
                                    {"small", "opt.fc2", 512, 2048}, {"small", "lm_head", 50272, 512},
                                    {"opt125m", "proj", 768, 768},   {"opt125m", "fc1", 3072, 768},
                                    {"opt125m", "fc2", 768, 3072},   {"opt125m", "lm_head", 50272, 768}};

constexpr double kColdBytes = 256e6;  // > 8x the largest L3 of the machines in use

double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

// Best seconds of call(copy), cycling through the copies; every copy is called
// once before timing starts (first calls prepare kernels). The best, not the
// median, because on a shared 2-core machine a call whose second thread was
// preempted takes several times longer.
double best_seconds(int copies, const std::function<void(int)>& call, double min_seconds) {
  for (int c = 0; c < copies; ++c) call(c);
  std::vector<double> times;
  const double start = now();
  for (int i = 0; times.size() < 3 || (now() - start < min_seconds && times.size() < 2000); ++i) {
    const double t0 = now();
    call(i % copies);
    times.push_back(now() - t0);
  }
  return *std::min_element(times.begin(), times.end());
}

std::vector<int64_t> int_list(const std::string& text) {
  std::vector<int64_t> values;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');) values.push_back(std::stoll(item));
  return values;
}

int openblas_threads() {
  using Get = int (*)();
  auto get = reinterpret_cast<Get>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
  return get ? get() : 0;
}

struct Method {
  std::string name;
  nn::PackedCompute compute;  // for the packed ones
  bool packed;
};

const std::vector<Method> kMethods = {{"at::linear", nn::PackedCompute::fp32, false},
                                      {"libtorch paths", nn::PackedCompute::fp32, false},
                                      {"packed fp32", nn::PackedCompute::fp32, true},
                                      {"packed bf16", nn::PackedCompute::bf16, true},
                                      {"packed int8", nn::PackedCompute::int8, true}};

// One cell: "0.123" or, with a floor, "0.123 1.4x".
std::string cell(double ms, double floor_ms) {
  char text[32];
  if (floor_ms > 0)
    std::snprintf(text, sizeof text, "%8.3f %4.1fx", ms, ms / floor_ms);
  else
    std::snprintf(text, sizeof text, "%8.3f      ", ms);
  return text;
}

void run(const std::vector<std::string>& models, const std::vector<int64_t>& row_counts, double min_seconds) {
  const double bandwidth = bench::memory_bandwidth();
  const nn::CpuFeatures cpu = nn::cpu_features();
  std::printf("threads %d (OpenBLAS %d), oneDNN ISA %s (VNNI %s, bf16 kernels %s, int8 weights %d bits)\n",
              at::get_num_threads(), openblas_threads(), cpu.isa.c_str(), cpu.vnni ? "yes" : "no",
              cpu.bf16_kernels ? "yes" : "no -> fp32 product", nn::int8_weight_bits());
  std::printf("memory bandwidth (sum over 512 MB, %d threads): %.1f GB/s\n", at::get_num_threads(), bandwidth / 1e9);
  std::printf("milliseconds per call (best of the calls); up to 8 rows, x the floor = weight bytes / bandwidth\n\n");
  std::printf("%-8s %-9s %13s %5s", "model", "layer", "out x in", "rows");
  for (const Method& m : kMethods) std::printf(" %14s", m.name.c_str());
  std::printf("\n");
  bool kernels_shown = false;
  for (const Layer& layer : kLayers) {
    if (std::find(models.begin(), models.end(), layer.model) == models.end()) continue;
    // Copies of the weights in each format (fp32 4 bytes a value, bf16 2 where
    // the CPU has bf16 kernels, int8 1) to cycle through: 256 MB of each.
    const double values = static_cast<double>(layer.out) * layer.in, fp32_bytes = 4 * values;
    const auto copies_for = [&](double bytes) { return std::clamp(static_cast<int>(kColdBytes / bytes + 0.999), 1, 64); };
    std::vector<at::Tensor> weights, biases;
    std::vector<std::unique_ptr<nn::Linear>> linears;  // nn::Linear unpacked, over the same tensors
    for (int c = 0; c < copies_for(fp32_bytes); ++c) {
      weights.push_back(at::randn({layer.out, layer.in}) * 0.02);
      biases.push_back(at::randn({layer.out}) * 0.02);
      linears.push_back(std::make_unique<nn::Linear>(weights.back(), biases.back()));
      linears.back()->prepare(std::nullopt);
    }
    std::vector<std::vector<nn::PackedLinear>> packed(kMethods.size());
    for (size_t m = 0; m < kMethods.size(); ++m) {
      if (!kMethods[m].packed) continue;
      const nn::PackedCompute compute = kMethods[m].compute;
      const double bytes = compute == nn::PackedCompute::int8 ? values
                           : compute == nn::PackedCompute::bf16 && cpu.bf16_kernels ? 2 * values
                                                                                     : fp32_bytes;
      for (int c = 0; c < copies_for(bytes); ++c)
        packed[m].emplace_back(weights[c % weights.size()], biases[c % weights.size()], compute);
    }
    if (!kernels_shown) {
      for (size_t m = 0; m < kMethods.size(); ++m)
        if (kMethods[m].packed)
          std::fprintf(stderr, "%s kernels: 1 row %s, 128 rows %s\n", kMethods[m].name.c_str(),
                       packed[m][0].kernel(1).c_str(), packed[m][0].kernel(128).c_str());
      kernels_shown = true;
    }
    for (int64_t rows : row_counts) {
      const at::Tensor x = at::randn({rows, layer.in});
      const at::Tensor x_bf16 = x.to(at::kBFloat16);
      std::printf("%-8s %-9s %6lld x %-4lld %5lld", layer.model.c_str(), layer.name.c_str(),
                  static_cast<long long>(layer.out), static_cast<long long>(layer.in), static_cast<long long>(rows));
      for (size_t m = 0; m < kMethods.size(); ++m) {
        std::function<void(int)> call;
        double bytes = fp32_bytes;
        if (m == 0) call = [&](int c) { at::linear(x, weights[c], biases[c]); };
        if (m == 1) call = [&](int c) { linears[c]->forward(x); };
        if (kMethods[m].packed) {
          const bool bf16 = kMethods[m].compute == nn::PackedCompute::bf16;
          call = [&, m, bf16](int c) { packed[m][c].forward(bf16 ? x_bf16 : x); };
          bytes = static_cast<double>(packed[m][0].weight_bytes());
        }
        const int all_copies = kMethods[m].packed ? static_cast<int>(packed[m].size()) : static_cast<int>(weights.size());
        const double ms = best_seconds(rows <= 32 ? all_copies : std::min(all_copies, 2), call, min_seconds) * 1e3;
        std::printf(" %s", cell(ms, rows <= 8 ? bytes / bandwidth * 1e3 : 0).c_str());
        std::fflush(stdout);
      }
      std::printf("\n");
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> models{"small", "opt125m"};
  std::vector<int64_t> rows{1, 4, 8, 32, 128, 1028};
  int threads = 2;
  double min_seconds = 0.3;
  try {
    for (int i = 1; i < argc; ++i) {
      const std::string arg = argv[i];
      const bool has_value = i + 1 < argc;
      if (arg == "--models" && has_value) {
        models.clear();
        std::stringstream in(argv[++i]);
        for (std::string item; std::getline(in, item, ',');)
          models.push_back(item == "opt125m-like" ? "opt125m" : item);
      } else if (arg == "--rows" && has_value) {
        rows = int_list(argv[++i]);
      } else if (arg == "--threads" && has_value) {
        threads = std::stoi(argv[++i]);
      } else if (arg == "--min-seconds" && has_value) {
        min_seconds = std::stod(argv[++i]);
      } else {
        std::fprintf(stderr,
                     "usage: linear_bench [--models small,opt125m] [--rows 1,4,8,32,128,1028] [--threads 2] "
                     "[--min-seconds 0.3]\n");
        return arg == "--help" ? 0 : 2;
      }
    }
    at::set_num_threads(threads);
    if (!nn::packed_linear_available()) throw Error("linear_bench: capbench was built without oneDNN");
    run(models, rows, min_seconds);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "linear_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
