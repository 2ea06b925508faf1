#pragma once
// A Hugging Face checkpoint: a snapshot folder (model.safetensors, or shards
// listed by model.safetensors.index.json; else pytorch_model.bin, or shards
// listed by pytorch_model.bin.index.json) or one weights file (.safetensors, or
// a state dict that torch.save wrote: core/torch_pickle/torch_file.h). Tensors
// are memory-mapped; view() is a zero-copy CPU tensor over the mapping, load()
// converts one tensor at a time, so loading never holds two copies of the weights.
#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace capbench {

struct TensorInfo {
  std::string name;
  at::ScalarType dtype;
  std::vector<int64_t> shape;
  std::filesystem::path file;  // the file (shard) holding it
};

class Checkpoint {
 public:
  // Opens a folder or a weights file; validates every header. With `weights`, the
  // tensors come from that file (a torch.save state dict such as a LAVIS .pth, or
  // a .safetensors file) instead of the folder's weights, and the folder supplies
  // config.json and the rest; LAVIS BLIP-2 names are renamed to transformers'
  // (core/lavis_names.h) for the model the folder's config.json describes.
  // Throws Error naming the file (and tensor) for anything malformed or missing.
  static Checkpoint open(const std::filesystem::path& folder_or_file, const std::filesystem::path& weights = {});

  // The folder (for a single file: the folder it is in); config.json etc. live here.
  const std::filesystem::path& folder() const;

  // Tensor names in file order of each shard, shards in name order; only those
  // starting with `prefix` when given.
  std::vector<std::string> names(const std::string& prefix = "") const;
  bool contains(const std::string& name) const;
  const TensorInfo& info(const std::string& name) const;  // throws Error for unknown names

  // CPU tensor viewing the mapping, in the stored dtype and strides; valid while any
  // copy of this Checkpoint lives (the tensor keeps the mapping alive). A LAVIS qkv
  // bias, assembled when opening, is a small tensor of its own.
  at::Tensor view(const std::string& name) const;
  // The tensor converted to `dtype` on `device`, contiguous (a view when nothing
  // changes on CPU).
  // After a conversion the mapped pages it was read from are dropped from memory
  // (they are read again from the file if a view touches them later).
  at::Tensor load(const std::string& name, at::ScalarType dtype, const c10::Device& device) const;

  // Metadata of the file holding `name` (safetensors' `__metadata__` object; none for
  // torch.save files), or of the single file. Without a name, for a sharded
  // checkpoint: that of the first shard.
  std::vector<std::pair<std::string, std::string>> metadata() const;
  std::vector<std::pair<std::string, std::string>> metadata(const std::string& name) const;

  // The weights files read, in the order names() walks them.
  std::vector<std::filesystem::path> files() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

// Drops the resident pages under `tensor` when its data lies in a weights file a
// Checkpoint has memory-mapped (a parameter that load() returned as a view), e.g.
// once a layer has copied the values into a layout of its own: the tensor stays
// readable, its pages are read from the file again when touched. Does nothing
// for any other tensor. Never for a view something has written to.
void release_file_pages(const at::Tensor& tensor);

}  // namespace capbench
