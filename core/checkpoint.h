#pragma once
// A Hugging Face checkpoint: a snapshot folder (model.safetensors, or shards
// listed by model.safetensors.index.json) or one .safetensors file. Tensors are
// memory-mapped; view() is a zero-copy CPU tensor over the mapping, load()
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
  std::filesystem::path file;  // the shard holding it
};

class Checkpoint {
 public:
  // Opens a folder or a .safetensors file; validates every header. Throws Error
  // naming the file (and tensor) for anything malformed or missing.
  static Checkpoint open(const std::filesystem::path& folder_or_file);

  // The folder (for a single file: the folder it is in); config.json etc. live here.
  const std::filesystem::path& folder() const;

  // Tensor names in file order of each shard, shards in name order; only those
  // starting with `prefix` when given.
  std::vector<std::string> names(const std::string& prefix = "") const;
  bool contains(const std::string& name) const;
  const TensorInfo& info(const std::string& name) const;  // throws Error for unknown names

  // CPU tensor viewing the mapping, in the stored dtype; valid while any copy of
  // this Checkpoint lives (the tensor keeps the mapping alive).
  at::Tensor view(const std::string& name) const;
  // The tensor converted to `dtype` on `device` (a view when nothing changes on CPU).
  // After a conversion the mapped pages it was read from are dropped from memory
  // (they are read again from the file if a view touches them later).
  at::Tensor load(const std::string& name, at::ScalarType dtype, const c10::Device& device) const;

  // Metadata of the file holding `name` (the `__metadata__` object), or of the single file.
  // Without a name, for a sharded checkpoint: that of the first shard.
  std::vector<std::pair<std::string, std::string>> metadata() const;
  std::vector<std::pair<std::string, std::string>> metadata(const std::string& name) const;

  // The safetensors files read, in the order names() walks them.
  std::vector<std::filesystem::path> files() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace capbench
