// Peak memory of loading a checkpoint: writes a ~1.5 GB random fp32 checkpoint
// (an OPT-350m-sized decoder in three shards with an index), then loads it in a
// fresh process per target dtype into a module tree with load_module, touches
// every weight, and prints the peak resident set divided by the bytes of the
// loaded weights. One copy of the weights is 1.0; the process's own code and
// libraries come on top (shown separately as "baseline").
//
//   checkpoint_memory_bench [--layers N]   (default 26 layers: 381 M parameters, 1.52 GB)
#include <signal.h>
#include <sys/wait.h>
#include <torch/torch.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "core/checkpoint.h"
#include "core/dtype.h"
#include "core/module_loading.h"
#include "core/safetensors.h"

namespace fs = std::filesystem;

namespace {

constexpr int64_t kHidden = 1024, kFfn = 4096, kVocab = 50272, kPositions = 2050;
constexpr int kShards = 3;

// Modules built as plugins should build them: uninitialised until loaded.
struct LinearImpl : torch::nn::Module {
  LinearImpl(int64_t in, int64_t out) {
    register_parameter("weight", torch::empty({out, in}));
    register_parameter("bias", torch::empty({out}));
  }
};
TORCH_MODULE(Linear);

struct NormImpl : torch::nn::Module {
  explicit NormImpl(int64_t size) {
    register_parameter("weight", torch::empty({size}));
    register_parameter("bias", torch::empty({size}));
  }
};
TORCH_MODULE(Norm);

struct EmbeddingImpl : torch::nn::Module {
  EmbeddingImpl(int64_t rows, int64_t dim) { register_parameter("weight", torch::empty({rows, dim})); }
};
TORCH_MODULE(Embedding);

struct AttentionImpl : torch::nn::Module {
  AttentionImpl() {
    for (const char* name : {"q_proj", "k_proj", "v_proj", "out_proj"}) register_module(name, Linear(kHidden, kHidden));
  }
};
TORCH_MODULE(Attention);

struct LayerImpl : torch::nn::Module {
  LayerImpl() {
    register_module("self_attn", Attention());
    register_module("self_attn_layer_norm", Norm(kHidden));
    register_module("fc1", Linear(kHidden, kFfn));
    register_module("fc2", Linear(kFfn, kHidden));
    register_module("final_layer_norm", Norm(kHidden));
  }
};
TORCH_MODULE(Layer);

struct DecoderImpl : torch::nn::Module {
  explicit DecoderImpl(int layers) {
    register_module("embed_tokens", Embedding(kVocab, kHidden));
    register_module("embed_positions", Embedding(kPositions, kHidden));
    torch::nn::ModuleList list;
    for (int i = 0; i < layers; ++i) list->push_back(Layer());
    register_module("layers", list);
    register_module("final_layer_norm", Norm(kHidden));
  }
};
TORCH_MODULE(Decoder);

// The temporary folder, removed on every exit path, Ctrl-C and kill included.
char g_folder[4096] = "";
std::vector<std::string> g_files;
std::vector<const char*> g_file_names;  // stable C strings for the signal handler

void remove_folder() {
  for (const char* file : g_file_names) ::unlink(file);
  if (g_folder[0]) ::rmdir(g_folder);
}

void on_signal(int signal) {
  remove_folder();  // unlink and rmdir are async-signal-safe
  ::signal(signal, SIG_DFL);
  ::raise(signal);
}

struct FolderGuard {
  ~FolderGuard() { remove_folder(); }
};

void plan_files() {
  for (int i = 1; i <= kShards; ++i) {
    char name[64];
    std::snprintf(name, sizeof name, "model-%05d-of-%05d.safetensors", i, kShards);
    g_files.push_back(std::string(g_folder) + "/" + name);
    g_files.push_back(g_files.back() + ".tmp" + std::to_string(::getpid()));  // the writer's temporary
  }
  g_files.push_back(std::string(g_folder) + "/model.safetensors.index.json");
  for (const auto& file : g_files) g_file_names.push_back(file.c_str());
}

// Writes the checkpoint shard by shard, so the writer holds a third of it at a time.
uint64_t write_checkpoint(int layers) {
  Decoder shape_source(layers);
  std::vector<std::pair<std::string, at::Tensor>> all;
  for (const auto& item : shape_source->named_parameters()) all.emplace_back("model.decoder." + item.key(), item.value());
  nlohmann::json index = {{"metadata", nlohmann::json::object()}, {"weight_map", nlohmann::json::object()}};
  uint64_t bytes = 0;
  torch::manual_seed(0);
  size_t per_shard = (all.size() + kShards - 1) / kShards;
  for (int shard = 0; shard < kShards; ++shard) {
    std::vector<std::pair<std::string, at::Tensor>> tensors;
    for (size_t i = shard * per_shard; i < std::min(all.size(), (shard + 1) * per_shard); ++i) {
      tensors.emplace_back(all[i].first, torch::randn(all[i].second.sizes()) * 0.02);
      bytes += tensors.back().second.numel() * 4;
      index["weight_map"][all[i].first] = fs::path(g_files[2 * shard]).filename().string();
    }
    capbench::write_safetensors(g_files[2 * shard], tensors, {{"format", "pt"}});
  }
  index["metadata"]["total_size"] = bytes;
  std::ofstream(g_files.back()) << index.dump(2);
  return bytes;
}

uint64_t status_kb(const char* key) {
  std::ifstream in("/proc/self/status");
  for (std::string line; std::getline(in, line);)
    if (line.rfind(key, 0) == 0) return std::stoull(line.substr(std::strlen(key)));
  return 0;
}

// The measured process: build, load, touch, report one line.
int measure(const std::string& folder, const std::string& dtype_name, int layers) {
  c10::InferenceMode inference;
  at::ScalarType dtype = capbench::parse_dtype(dtype_name);
  Decoder decoder(layers);
  uint64_t baseline_kb = status_kb("VmRSS:");
  auto start = std::chrono::steady_clock::now();
  capbench::Checkpoint checkpoint = capbench::Checkpoint::open(folder);
  capbench::LoadOptions options;
  options.dtype = dtype;
  capbench::load_module(*decoder, checkpoint, "model.decoder.", options);
  double load_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  // Use every weight once, as inference would, so that mapped pages are resident too.
  double checksum = 0;
  uint64_t weight_bytes = 0;
  for (const auto& p : decoder->parameters()) {
    checksum += p.sum().item<double>();
    weight_bytes += p.numel() * p.element_size();
  }
  uint64_t peak_kb = status_kb("VmHWM:");
  double ratio = peak_kb * 1024.0 / weight_bytes;
  double above_baseline = (peak_kb - baseline_kb) * 1024.0 / weight_bytes;
  std::printf("%-5s weights %7.1f MB  peak RSS %7.1f MB  baseline %5.1f MB  peak/weights %.3f  "
              "(peak-baseline)/weights %.3f  load %.2f s  checksum %.3f\n",
              dtype_name.c_str(), weight_bytes / 1e6, peak_kb * 1024 / 1e6, baseline_kb * 1024 / 1e6, ratio,
              above_baseline, load_s, checksum);
  return 0;
}

int spawn_measure(const char* self, const std::string& dtype, int layers) {
  std::cout.flush();
  pid_t pid = ::fork();
  if (pid == 0) {
    std::string layer_text = std::to_string(layers);
    ::execl(self, self, "--measure", g_folder, dtype.c_str(), layer_text.c_str(), static_cast<char*>(nullptr));
    std::perror("exec");
    ::_exit(127);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    if (argc == 5 && std::string(argv[1]) == "--measure") return measure(argv[2], argv[3], std::atoi(argv[4]));
    int layers = 26;
    if (argc == 3 && std::string(argv[1]) == "--layers") layers = std::atoi(argv[2]);
    else if (argc != 1) {
      std::cerr << "usage: checkpoint_memory_bench [--layers N]\n";
      return 2;
    }
    std::string pattern = (fs::temp_directory_path() / "capbench-memory-bench-XXXXXX").string();
    if (!::mkdtemp(pattern.data())) throw std::runtime_error("cannot create a temporary folder");
    std::strncpy(g_folder, pattern.c_str(), sizeof g_folder - 1);
    FolderGuard guard;
    plan_files();
    for (int signal : {SIGINT, SIGTERM, SIGHUP}) ::signal(signal, on_signal);

    auto start = std::chrono::steady_clock::now();
    uint64_t bytes = write_checkpoint(layers);
    std::printf("wrote %.2f GB of fp32 weights (%d layers, 3 shards) in %.1f s to %s\n", bytes / 1e9, layers,
                std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), g_folder);
    int failures = 0;
    for (const char* dtype : {"fp32", "bf16"}) failures += spawn_measure("/proc/self/exe", dtype, layers) != 0;
    return failures ? 1 : 0;
  } catch (const std::exception& e) {
    std::cerr << "checkpoint_memory_bench: " << e.what() << "\n";
    return 1;
  }
}
