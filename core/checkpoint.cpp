#include "core/checkpoint.h"

#include <ATen/Functions.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <mutex>
#include <unordered_map>

#include "core/blip2_config.h"
#include "core/error.h"
#include "core/json_file.h"
#include "core/lavis_names.h"
#include "core/safetensors.h"
#include "core/torch_pickle/torch_file.h"

namespace capbench {

namespace fs = std::filesystem;

namespace {

// What a snapshot folder may hold, in order of preference: safetensors first.
constexpr const char* kWeightFiles[] = {"model.safetensors", "model.safetensors.index.json", "pytorch_model.bin",
                                        "pytorch_model.bin.index.json"};

bool ends_with(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() && text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool is_torch_name(const fs::path& file) {
  const std::string ext = file.extension().string();
  return ext == ".bin" || ext == ".pt" || ext == ".pth" || ext == ".ckpt" || ext == ".pkl";
}

// A torch.save file by its name, or else by its first bytes (a zip archive, or a
// legacy pickle, which the torch reader refuses with advice); anything else is
// read as safetensors, whose header (after an 8-byte length) opens with '{'.
bool is_torch_file(const fs::path& file) {
  if (file.extension() == ".safetensors") return false;
  if (is_torch_name(file)) return true;
  unsigned char head[9] = {};
  std::ifstream(file, std::ios::binary).read(reinterpret_cast<char*>(head), sizeof head);
  if (head[0] == 'P' && head[1] == 'K') return true;
  return head[0] == 0x80 && head[1] >= 2 && head[1] <= 5 && head[8] != '{';
}

std::vector<int64_t> contiguous_strides(const std::vector<int64_t>& shape) {
  std::vector<int64_t> strides(shape.size(), 1);
  for (size_t i = shape.size(); i-- > 1;) strides[i - 1] = strides[i] * std::max<int64_t>(shape[i], 1);
  return strides;
}

// A shard named by an index must stay inside the snapshot folder.
fs::path shard_path(const fs::path& index, const std::string& shard) {
  fs::path relative(shard);
  if (shard.empty() || relative.is_absolute() ||
      std::any_of(relative.begin(), relative.end(), [](const fs::path& part) { return part == ".."; }))
    throw Error(index.string() + ": shard name '" + shard + "' must be a file name inside the folder");
  return index.parent_path() / relative;
}

// Every file a Checkpoint has mapped, for release_file_pages(); a mapping lives
// while a checkpoint or a view of it does.
struct MappedFiles {
  std::mutex mutex;
  std::vector<std::weak_ptr<MappedFile>> files;

  void add(const std::shared_ptr<MappedFile>& file) {
    std::lock_guard<std::mutex> lock(mutex);
    files.erase(std::remove_if(files.begin(), files.end(), [](const auto& f) { return f.expired(); }), files.end());
    files.push_back(file);
  }
};

MappedFiles& mapped_files() {
  static MappedFiles registry;
  return registry;
}

}  // namespace

void release_file_pages(const at::Tensor& tensor) {
  if (!tensor.defined() || !tensor.device().is_cpu() || !tensor.has_storage() || tensor.numel() == 0) return;
  // The storage spans every element of a strided view.
  const auto* first = static_cast<const uint8_t*>(tensor.storage().data());
  const auto* last = first + tensor.storage().nbytes();
  MappedFiles& registry = mapped_files();
  std::lock_guard<std::mutex> lock(registry.mutex);
  for (const auto& weak : registry.files) {
    const std::shared_ptr<MappedFile> file = weak.lock();
    if (file && first >= file->data() && last <= file->data() + file->size()) {
      file->release(static_cast<uint64_t>(first - file->data()), static_cast<uint64_t>(last - file->data()));
      return;
    }
  }
}

struct Checkpoint::Impl {
  struct Location {
    TensorInfo info;
    size_t file = 0;                      // index in `files`
    std::shared_ptr<MappedFile> mapping;  // null for a tensor assembled when opening
    uint64_t begin = 0, end = 0;          // bytes of the mapping its elements lie in
    std::vector<int64_t> strides;         // in elements
    at::Tensor made;                      // the tensor itself when it is not mapped
  };
  struct File {
    fs::path path;
    std::vector<std::pair<std::string, std::string>> metadata;
  };

  fs::path folder;
  std::vector<File> files;          // in the order they were opened
  std::vector<std::string> order;   // tensor names: files in order, file order within each
  std::unordered_map<std::string, Location> tensors;

  void add(Location location) {
    const std::string name = location.info.name;
    auto [it, added] = tensors.try_emplace(name, std::move(location));
    if (!added)
      throw Error(files.back().path.string() + ": tensor '" + name + "' is also in " + it->second.info.file.string());
    order.push_back(name);
  }

  void add_file(const fs::path& path) {
    const size_t index = files.size();
    if (is_torch_file(path)) {
      TorchFile file = TorchFile::open(path);
      files.push_back({path, {}});
      mapped_files().add(file.mapping());
      for (const TorchTensorEntry& t : file.tensors())
        add({{t.name, t.dtype, t.shape, path}, index, file.mapping(), t.begin, t.end, t.strides, {}});
    } else {
      SafetensorsFile file = SafetensorsFile::open(path);
      files.push_back({path, file.header().metadata});
      mapped_files().add(file.mapping());
      for (const SafetensorsEntry& e : file.header().tensors)
        add({{e.name, e.dtype, e.shape, path}, index, file.mapping(), e.begin, e.end, contiguous_strides(e.shape), {}});
    }
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
      add_file(file);
    }
    for (const auto& [name, shard] : json["weight_map"].items()) {
      fs::path file = shard_path(index, shard.get<std::string>());
      auto it = tensors.find(name);
      if (it == tensors.end() || it->second.info.file != file)
        throw Error(file.string() + ": lacks tensor '" + name + "' that " + index.filename().string() + " places there");
    }
  }

  void open_file(const fs::path& file) {
    if (ends_with(file.filename().string(), ".index.json"))
      open_index(file);
    else
      add_file(file);
  }

  void open_folder(const fs::path& dir) {
    for (const char* name : kWeightFiles)
      if (fs::is_regular_file(dir / name)) return open_file(dir / name);
    std::vector<std::string> found;
    for (const auto& item : fs::directory_iterator(dir)) {
      const fs::path name = item.path().filename();
      if (item.is_regular_file() && (name.extension() == ".safetensors" || is_torch_name(name)))
        found.push_back(name.string());
    }
    std::sort(found.begin(), found.end());
    std::string list;
    for (const auto& name : found) list += (list.empty() ? " (it holds " : ", ") + name;
    if (!list.empty()) list += "; pass one of those files to read it alone, or as --weights beside this folder)";
    throw Error(dir.string() + ": no weights: none of model.safetensors, model.safetensors.index.json, " +
                "pytorch_model.bin, pytorch_model.bin.index.json" + list);
  }

  // A LAVIS state dict becomes the transformers layout the plugins read.
  void rename_lavis(const fs::path& weights) {
    if (!has_lavis_names(order)) return;
    const Blip2Config config = Blip2Config::from_path(folder);
    const std::vector<LavisTensor> mapped = map_lavis_names(order, config, weights.string());
    std::unordered_map<std::string, Location> lavis;
    lavis.swap(tensors);
    order.clear();
    for (const LavisTensor& t : mapped) {
      Location location = lavis.at(t.source);
      if (!t.v_bias.empty()) location = qkv_bias(location, lavis.at(t.v_bias), weights);
      location.info.name = t.name;
      add(std::move(location));
    }
  }

  // transformers' qkv bias: q_bias, zeros for the key, v_bias (the ViT has no key bias).
  Location qkv_bias(const Location& q, const Location& v, const fs::path& weights) const {
    const at::Tensor q_bias = view(q), v_bias = view(v);
    if (q_bias.dim() != 1 || !q_bias.sizes().equals(v_bias.sizes()) || q_bias.scalar_type() != v_bias.scalar_type())
      throw Error(weights.string() + ": " + q.info.name + " and " + v.info.name +
                  " must be vectors of one size and dtype to form the qkv bias");
    Location location;
    location.made = at::cat({q_bias, at::zeros_like(v_bias), v_bias});
    location.info = {q.info.name, q.info.dtype, {location.made.size(0)}, q.info.file};
    location.file = q.file;
    return location;
  }

  const Location& locate(const std::string& name) const {
    auto it = tensors.find(name);
    if (it == tensors.end()) throw Error(folder.string() + ": checkpoint has no tensor '" + name + "'");
    return it->second;
  }

  static at::Tensor view(const Location& l) {
    if (l.made.defined()) return l.made;
    std::shared_ptr<MappedFile> keep_alive = l.mapping;
    return at::from_blob(
        l.mapping->data() + l.begin, l.info.shape, l.strides, [keep_alive](void*) {},
        at::TensorOptions().dtype(l.info.dtype));
  }
};

Checkpoint Checkpoint::open(const fs::path& folder_or_file, const fs::path& weights) {
  Checkpoint checkpoint;
  checkpoint.impl_ = std::make_shared<Impl>();
  Impl& impl = *checkpoint.impl_;
  std::error_code error;
  const bool is_folder = fs::is_directory(folder_or_file, error);
  if (!is_folder && !fs::exists(folder_or_file, error))
    throw Error(folder_or_file.string() + ": no such checkpoint folder or file");
  if (is_folder)
    impl.folder = folder_or_file;
  else
    impl.folder = folder_or_file.has_parent_path() ? folder_or_file.parent_path() : fs::path(".");
  if (!weights.empty()) {
    if (!fs::is_regular_file(weights, error)) throw Error(weights.string() + ": no such weights file");
    impl.open_file(weights);
    impl.rename_lavis(weights);
  } else if (is_folder) {
    impl.open_folder(folder_or_file);
  } else {
    impl.open_file(folder_or_file);
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

at::Tensor Checkpoint::view(const std::string& name) const { return Impl::view(impl_->locate(name)); }

at::Tensor Checkpoint::load(const std::string& name, at::ScalarType dtype, const c10::Device& device) const {
  const Impl::Location& location = impl_->locate(name);
  at::Tensor view = Impl::view(location);
  bool aligned = reinterpret_cast<uintptr_t>(view.data_ptr()) % view.element_size() == 0;
  if (device.is_cpu() && dtype == view.scalar_type() && view.is_contiguous()) return aligned ? view : view.clone();
  at::Tensor converted = view.to(device, dtype).contiguous();
  // The converted copy is what lives on; the mapped pages it was read from leave
  // the resident set, so converting a whole model never holds both copies.
  if (location.mapping) location.mapping->release(location.begin, location.end);
  return converted;
}

std::vector<std::pair<std::string, std::string>> Checkpoint::metadata() const { return impl_->files.front().metadata; }

std::vector<std::pair<std::string, std::string>> Checkpoint::metadata(const std::string& name) const {
  return impl_->files[impl_->locate(name).file].metadata;
}

std::vector<fs::path> Checkpoint::files() const {
  std::vector<fs::path> files;
  for (const auto& file : impl_->files) files.push_back(file.path);
  return files;
}

}  // namespace capbench
