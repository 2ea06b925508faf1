#include "core/checkpoint.h"

#include <ATen/Functions.h>

#include <algorithm>
#include <map>
#include <unordered_map>

#include "core/error.h"
#include "core/json_file.h"
#include "core/safetensors.h"

namespace capbench {

namespace fs = std::filesystem;

namespace {

constexpr const char* kSingleFile = "model.safetensors";
constexpr const char* kIndexFile = "model.safetensors.index.json";

[[noreturn]] void refuse_pickle(const fs::path& where, const std::string& found) {
  throw Error(where.string() + ": holds only " + found +
              ", a pickled PyTorch checkpoint that capbench does not read (unpickling can run arbitrary code); "
              "use the repository's model.safetensors if it has one, or convert in Python with "
              "<ModelClass>.from_pretrained(DIR).save_pretrained(OUT, safe_serialization=True)");
}

bool is_pickle_name(const fs::path& file) {
  const std::string ext = file.extension().string();
  return ext == ".bin" || ext == ".pt" || ext == ".pth" || ext == ".ckpt" || ext == ".pkl";
}

// A shard named by an index must stay inside the snapshot folder.
fs::path shard_path(const fs::path& index, const std::string& shard) {
  fs::path relative(shard);
  if (shard.empty() || relative.is_absolute() ||
      std::any_of(relative.begin(), relative.end(), [](const fs::path& part) { return part == ".."; }))
    throw Error(index.string() + ": shard name '" + shard + "' must be a file name inside the folder");
  return index.parent_path() / relative;
}

}  // namespace

struct Checkpoint::Impl {
  struct Location {
    size_t shard;
    size_t index;  // in shards[shard].header().tensors
    TensorInfo info;
  };

  fs::path folder;
  std::vector<SafetensorsFile> shards;  // in file name order
  std::vector<std::string> order;       // tensor names: shards in order, file order within each
  std::unordered_map<std::string, Location> tensors;

  void add_shard(SafetensorsFile file) {
    size_t shard = shards.size();
    const auto& entries = file.header().tensors;
    for (size_t i = 0; i < entries.size(); ++i) {
      const SafetensorsEntry& entry = entries[i];
      auto [it, added] = tensors.try_emplace(entry.name, Location{shard, i, {entry.name, entry.dtype, entry.shape, file.path()}});
      if (!added)
        throw Error(file.path().string() + ": tensor '" + entry.name + "' is also in " + it->second.info.file.string());
      order.push_back(entry.name);
    }
    shards.push_back(std::move(file));
  }

  void open_index(const fs::path& index) {
    const nlohmann::json json = read_json_file(index);
    if (!json.is_object() || !json.contains("weight_map") || !json["weight_map"].is_object())
      throw Error(index.string() + ": lacks the object 'weight_map' {tensor name: shard file}");
    std::map<std::string, std::string> first_tensor_of_shard;  // sorted: shards open in name order
    for (const auto& [name, shard] : json["weight_map"].items()) {
      if (!shard.is_string()) throw Error(index.string() + ": key 'weight_map." + name + "' must be a file name string");
      first_tensor_of_shard.emplace(shard.get<std::string>(), name);
    }
    if (first_tensor_of_shard.empty()) throw Error(index.string() + ": 'weight_map' names no tensors");
    for (const auto& [shard, tensor] : first_tensor_of_shard) {
      fs::path file = shard_path(index, shard);
      if (!fs::is_regular_file(file))
        throw Error(index.string() + ": shard '" + shard + "' (holding '" + tensor + "') is missing from " +
                    index.parent_path().string());
      add_shard(SafetensorsFile::open(file));
    }
    for (const auto& [name, shard] : json["weight_map"].items()) {
      fs::path file = shard_path(index, shard.get<std::string>());
      auto it = tensors.find(name);
      if (it == tensors.end() || it->second.info.file != file)
        throw Error(file.string() + ": lacks tensor '" + name + "' that " + index.filename().string() + " places there");
    }
  }

  void open_folder(const fs::path& dir) {
    if (fs::is_regular_file(dir / kSingleFile)) return add_shard(SafetensorsFile::open(dir / kSingleFile));
    if (fs::is_regular_file(dir / kIndexFile)) return open_index(dir / kIndexFile);
    std::vector<std::string> safetensors, pickles;
    for (const auto& item : fs::directory_iterator(dir)) {
      if (!item.is_regular_file()) continue;
      const fs::path name = item.path().filename();
      if (name.extension() == ".safetensors") safetensors.push_back(name.string());
      if (is_pickle_name(name) || name == "pytorch_model.bin.index.json") pickles.push_back(name.string());
    }
    std::sort(safetensors.begin(), safetensors.end());
    std::sort(pickles.begin(), pickles.end());
    if (safetensors.empty() && !pickles.empty()) refuse_pickle(dir, pickles.front());
    std::string found;
    for (const auto& name : safetensors) found += (found.empty() ? " (it holds " : ", ") + name;
    if (!found.empty()) found += "; pass one of those files to read it alone)";
    throw Error(dir.string() + ": no weights: neither " + kSingleFile + " nor " + kIndexFile + found);
  }

  const Location& locate(const std::string& name) const {
    auto it = tensors.find(name);
    if (it == tensors.end()) throw Error(folder.string() + ": checkpoint has no tensor '" + name + "'");
    return it->second;
  }
};

Checkpoint Checkpoint::open(const fs::path& folder_or_file) {
  Checkpoint checkpoint;
  checkpoint.impl_ = std::make_shared<Impl>();
  Impl& impl = *checkpoint.impl_;
  std::error_code error;
  if (fs::is_directory(folder_or_file, error)) {
    impl.folder = folder_or_file;
    impl.open_folder(folder_or_file);
  } else if (fs::exists(folder_or_file, error)) {
    impl.folder = folder_or_file.has_parent_path() ? folder_or_file.parent_path() : fs::path(".");
    const std::string name = folder_or_file.filename().string();
    if (is_pickle_name(folder_or_file)) refuse_pickle(folder_or_file, name);
    if (name.size() > 11 && name.compare(name.size() - 11, 11, ".index.json") == 0)
      impl.open_index(folder_or_file);
    else
      impl.add_shard(SafetensorsFile::open(folder_or_file));
  } else {
    throw Error(folder_or_file.string() + ": no such checkpoint folder or file");
  }
  return checkpoint;
}

const fs::path& Checkpoint::folder() const { return impl_->folder; }

std::vector<std::string> Checkpoint::names(const std::string& prefix) const {
  if (prefix.empty()) return impl_->order;
  std::vector<std::string> selected;
  for (const auto& name : impl_->order)
    if (name.compare(0, prefix.size(), prefix) == 0) selected.push_back(name);
  return selected;
}

bool Checkpoint::contains(const std::string& name) const { return impl_->tensors.count(name) != 0; }

const TensorInfo& Checkpoint::info(const std::string& name) const { return impl_->locate(name).info; }

at::Tensor Checkpoint::view(const std::string& name) const {
  const auto& location = impl_->locate(name);
  return impl_->shards[location.shard].view(location.index);
}

at::Tensor Checkpoint::load(const std::string& name, at::ScalarType dtype, const c10::Device& device) const {
  const auto& location = impl_->locate(name);
  const SafetensorsFile& shard = impl_->shards[location.shard];
  at::Tensor view = shard.view(location.index);
  bool aligned = reinterpret_cast<uintptr_t>(view.data_ptr()) % view.element_size() == 0;
  if (device.is_cpu() && dtype == view.scalar_type()) return aligned ? view : view.clone();
  at::Tensor converted = view.to(device, dtype);
  // The converted copy is what lives on; the mapped pages it was read from leave
  // the resident set, so converting a whole model never holds both copies.
  const SafetensorsEntry& entry = shard.header().tensors[location.index];
  shard.mapping()->release(entry.begin, entry.end);
  return converted;
}

std::vector<std::pair<std::string, std::string>> Checkpoint::metadata() const {
  return impl_->shards.front().header().metadata;
}

std::vector<std::pair<std::string, std::string>> Checkpoint::metadata(const std::string& name) const {
  return impl_->shards[impl_->locate(name).shard].header().metadata;
}

std::vector<fs::path> Checkpoint::files() const {
  std::vector<fs::path> files;
  for (const auto& shard : impl_->shards) files.push_back(shard.path());
  return files;
}

}  // namespace capbench
