// Peak memory of loading a checkpoint: writes a random fp32 checkpoint (default
// 26 layers: an OPT-350m-sized decoder, 1.52 GB; --layers 76 makes 4.0 GB) in
// each format, then loads it in a fresh process per target dtype as a plugin
// does -- load_module() with nn::load_options(), then nn::prepare(), which packs
// every linear layer (fp32, bf16, or int8 quantized per output row) and lets go
// of its source -- touches every weight (one product per layer, a sum over the
// rest), and prints the peak resident set over the file's size. The process's
// own code and libraries come on top (shown separately as "baseline"). Formats,
// one after the other (each written, measured and deleted before the next):
//   safetensors  three shards + model.safetensors.index.json
//   bin          three torch.save shards + pytorch_model.bin.index.json (as transformers writes them)
//   pth          one torch.save file {"model": state dict}, read as `weights` beside the folder (as LAVIS saves)
//
//   checkpoint_memory_bench [--layers N] [--format safetensors|bin|pth|all] [--dtypes fp32,bf16,int8]
#include <signal.h>
#include <sys/wait.h>
#include <torch/torch.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "core/checkpoint.h"
#include "core/module_loading.h"
#include "core/nn/linear.h"
#include "core/safetensors.h"
#include "core/torch_pickle/torch_writer.h"

namespace fs = std::filesystem;

namespace {

constexpr int64_t kHidden = 1024, kFfn = 4096, kVocab = 50272, kPositions = 2050;
constexpr int kShards = 3;

// Modules built as plugins build them: uninitialised until loaded.
std::shared_ptr<capbench::nn::Linear> Linear(int64_t in, int64_t out) {
  return std::make_shared<capbench::nn::Linear>(in, out);
}

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

constexpr const char* kPthFile = "model.pth";

// Every file the format's writer may leave in the folder, known before writing
// so that a signal can remove them.
void plan_files(const std::string& format) {
  g_files.clear();
  g_file_names.clear();
  if (format == "pth") {
    g_files.push_back(std::string(g_folder) + "/" + kPthFile);
  } else {
    const bool bin = format == "bin";
    for (int i = 1; i <= kShards; ++i) {
      char name[64];
      std::snprintf(name, sizeof name, bin ? "pytorch_model-%05d-of-%05d.bin" : "model-%05d-of-%05d.safetensors", i, kShards);
      g_files.push_back(std::string(g_folder) + "/" + name);
      g_files.push_back(g_files.back() + ".tmp" + std::to_string(::getpid()));  // the safetensors writer's temporary
    }
    g_files.push_back(std::string(g_folder) + (bin ? "/pytorch_model.bin.index.json" : "/model.safetensors.index.json"));
  }
  for (const auto& file : g_files) g_file_names.push_back(file.c_str());
}

// Writes the checkpoint shard by shard, so the writer holds a third of it at a
// time (the single .pth file: all of it).
uint64_t write_checkpoint(int layers, const std::string& format) {
  Decoder shape_source(layers);
  std::vector<std::pair<std::string, at::Tensor>> all;
  for (const auto& item : shape_source->named_parameters()) all.emplace_back("model.decoder." + item.key(), item.value());
  nlohmann::json index = {{"metadata", nlohmann::json::object()}, {"weight_map", nlohmann::json::object()}};
  uint64_t bytes = 0;
  torch::manual_seed(0);
  const int shards = format == "pth" ? 1 : kShards;
  size_t per_shard = (all.size() + shards - 1) / shards;
  for (int shard = 0; shard < shards; ++shard) {
    std::vector<std::pair<std::string, at::Tensor>> tensors;
    const std::string file = format == "pth" ? g_files[0] : g_files[2 * shard];
    for (size_t i = shard * per_shard; i < std::min(all.size(), (shard + 1) * per_shard); ++i) {
      tensors.emplace_back(all[i].first, torch::randn(all[i].second.sizes()) * 0.02);
      bytes += tensors.back().second.numel() * 4;
      index["weight_map"][all[i].first] = fs::path(file).filename().string();
    }
    if (format == "safetensors")
      capbench::write_safetensors(file, tensors, {{"format", "pt"}});
    else
      capbench::write_torch_state_dict(file, tensors, format == "pth" ? "model" : "");
  }
  index["metadata"]["total_size"] = bytes;
  if (format != "pth") std::ofstream(g_files.back()) << index.dump(2);
  return bytes;
}

uint64_t status_kb(const char* key) {
  std::ifstream in("/proc/self/status");
  for (std::string line; std::getline(in, line);)
    if (line.rfind(key, 0) == 0) return std::stoull(line.substr(std::strlen(key)));
  return 0;
}

// The measured process: build, load, prepare, touch, report one line.
int measure(const std::string& folder, const std::string& format, const std::string& dtype_name, int layers) {
  c10::InferenceMode inference;
  capbench::ComponentContext context;
  context.dtype = dtype_name;
  const capbench::nn::Placement place = capbench::nn::place(context, "checkpoint_memory_bench");
  Decoder decoder(layers);
  uint64_t baseline_kb = status_kb("VmRSS:");
  auto start = std::chrono::steady_clock::now();
  capbench::Checkpoint checkpoint = format == "pth" ? capbench::Checkpoint::open(folder, fs::path(folder) / kPthFile)
                                                    : capbench::Checkpoint::open(folder);
  uint64_t file_bytes = 0;
  for (const auto& file : checkpoint.files()) file_bytes += fs::file_size(file);
  capbench::load_module(*decoder, checkpoint, "model.decoder.", capbench::nn::load_options(place, *decoder));
  capbench::nn::prepare(*decoder, place);
  double load_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  // Use every weight once, as inference would, so that whatever they occupy is resident.
  double checksum = 0;
  uint64_t weight_bytes = 0;
  for (const auto& p : decoder->parameters()) {
    checksum += p.sum().item<double>();
    weight_bytes += p.numel() * p.element_size();
  }
  for (const auto& module : decoder->modules()) {
    if (auto* linear = dynamic_cast<capbench::nn::Linear*>(module.get())) {
      checksum += linear->forward(at::ones({1, linear->in_features()}, place.dtype)).sum().item<double>();
      weight_bytes += linear->weight_bytes();
    }
  }
  uint64_t peak_kb = status_kb("VmHWM:");
  std::printf("%-11s %-5s file %7.1f MB  weights held %7.1f MB  peak RSS %7.1f MB  baseline %5.1f MB  peak/file %.3f  "
              "(peak-baseline)/file %.3f  load %.2f s  checksum %.3f\n",
              format.c_str(), dtype_name.c_str(), file_bytes / 1e6, weight_bytes / 1e6, peak_kb * 1024 / 1e6,
              baseline_kb * 1024 / 1e6, peak_kb * 1024.0 / file_bytes, (peak_kb - baseline_kb) * 1024.0 / file_bytes,
              load_s, checksum);
  return 0;
}

int spawn_measure(const char* self, const std::string& format, const std::string& dtype, int layers) {
  std::cout.flush();
  pid_t pid = ::fork();
  if (pid == 0) {
    std::string layer_text = std::to_string(layers);
    ::execl(self, self, "--measure", g_folder, format.c_str(), dtype.c_str(), layer_text.c_str(), static_cast<char*>(nullptr));
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
    if (argc == 6 && std::string(argv[1]) == "--measure") return measure(argv[2], argv[3], argv[4], std::atoi(argv[5]));
    int layers = 26;
    std::string format = "all", dtypes = "fp32,bf16,int8";
    for (int i = 1; i < argc; i += 2) {
      const std::string flag = argv[i];
      if (i + 1 < argc && flag == "--layers") {
        layers = std::atoi(argv[i + 1]);
      } else if (i + 1 < argc && flag == "--format") {
        format = argv[i + 1];
      } else if (i + 1 < argc && flag == "--dtypes") {
        dtypes = argv[i + 1];
      } else {
        std::cerr << "usage: checkpoint_memory_bench [--layers N] [--format safetensors|bin|pth|all] [--dtypes fp32,bf16,int8]\n";
        return 2;
      }
    }
    const std::vector<std::string> formats =
        format == "all" ? std::vector<std::string>{"safetensors", "bin", "pth"} : std::vector<std::string>{format};
    for (const auto& f : formats)
      if (f != "safetensors" && f != "bin" && f != "pth") {
        std::cerr << "checkpoint_memory_bench: unknown format '" << f << "' (safetensors, bin, pth or all)\n";
        return 2;
      }
    std::string pattern = (fs::temp_directory_path() / "capbench-memory-bench-XXXXXX").string();
    if (!::mkdtemp(pattern.data())) throw std::runtime_error("cannot create a temporary folder");
    std::strncpy(g_folder, pattern.c_str(), sizeof g_folder - 1);
    FolderGuard guard;
    for (int signal : {SIGINT, SIGTERM, SIGHUP}) ::signal(signal, on_signal);

    int failures = 0;
    for (const auto& f : formats) {
      plan_files(f);
      auto start = std::chrono::steady_clock::now();
      uint64_t bytes = write_checkpoint(layers, f);
      std::printf("wrote %.2f GB of fp32 weights (%d layers, %s) in %.1f s to %s\n", bytes / 1e9, layers,
                  f == "pth" ? "one .pth file" : ("3 " + f + " shards").c_str(),
                  std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), g_folder);
      std::stringstream list(dtypes);
      for (std::string dtype; std::getline(list, dtype, ',');)
        failures += spawn_measure("/proc/self/exe", f, dtype, layers) != 0;
      for (const char* file : g_file_names) ::unlink(file);
    }
    return failures ? 1 : 0;
  } catch (const std::exception& e) {
    std::cerr << "checkpoint_memory_bench: " << e.what() << "\n";
    return 1;
  }
}
