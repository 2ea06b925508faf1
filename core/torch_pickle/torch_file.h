#pragma once
// A state dict written by torch.save in PyTorch's zip format (PyTorch >= 1.6:
// pytorch_model.bin, LAVIS .pth files): a zip archive holding data.pkl (the
// pickled dict; read by the restricted unpickler, see unpickler.h) and one
// stored entry data/<key> per storage. The file is memory-mapped and every
// tensor is a view of its storage's bytes in place: opening reads the pickle
// and the zip directory only, never the weights.
#include <c10/core/ScalarType.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace capbench {

class MappedFile;

struct TorchTensorEntry {
  std::string name;
  at::ScalarType dtype = at::kFloat;
  std::vector<int64_t> shape, strides;  // strides in elements
  uint64_t begin = 0;                   // byte of the file holding the first element
  uint64_t end = 0;                     // one past the last byte the view reaches (begin when empty)
};

class TorchFile {
 public:
  // Maps `file` and reads its state dict: the pickled object itself when it is a
  // {name: tensor} dict, else its "model" or "state_dict" entry (LAVIS and
  // training checkpoints wrap the weights so, beside epochs, configs and
  // optimizer states, which are read as plain values and ignored). Throws Error
  // naming the file for the legacy (pre-1.6) format, TorchScript archives,
  // compressed or missing entries, pickles naming anything outside what a state
  // dict needs, and anything malformed.
  static TorchFile open(const std::filesystem::path& file);

  const std::filesystem::path& path() const;
  const std::shared_ptr<MappedFile>& mapping() const { return mapping_; }
  const std::vector<TorchTensorEntry>& tensors() const { return tensors_; }  // in the dict's order
  const std::string& wrapper_key() const { return wrapper_key_; }  // "model", "state_dict" or "" (plain)

 private:
  std::shared_ptr<MappedFile> mapping_;
  std::vector<TorchTensorEntry> tensors_;
  std::string wrapper_key_;
};

// Reads the state dict of a torch.save archive held in `bytes[0, size)`; what
// TorchFile::open does after mapping the file (tests and fuzzing use it directly).
// Throws Error "<origin>: ...".
std::vector<TorchTensorEntry> read_torch_state_dict(const uint8_t* bytes, uint64_t size, const std::string& origin,
                                                     std::string* wrapper_key = nullptr);

}  // namespace capbench
