#include "core/torch_pickle/torch_file.h"

#include <cstring>
#include <map>
#include <set>

#include "core/error.h"
#include "core/safetensors.h"
#include "core/torch_pickle/unpickler.h"
#include "core/torch_pickle/zip_directory.h"

namespace capbench {

namespace {

using torch_pickle::Value;
using torch_pickle::ValuePtr;
using torch_pickle::ZipEntry;

// What the first bytes say the file is.
enum class Format { Zip, LegacyPickle, LegacyTar, Unknown };

Format sniff(const uint8_t* bytes, uint64_t size) {
  if (size >= 4 && bytes[0] == 'P' && bytes[1] == 'K' &&
      ((bytes[2] == 3 && bytes[3] == 4) || (bytes[2] == 5 && bytes[3] == 6)))
    return Format::Zip;
  if (size >= 2 && bytes[0] == 0x80 && bytes[1] >= 2 && bytes[1] <= 5) return Format::LegacyPickle;
  if (size >= 262 && std::memcmp(bytes + 257, "ustar", 5) == 0) return Format::LegacyTar;
  return Format::Unknown;
}

class StateDictReader {
 public:
  StateDictReader(const uint8_t* bytes, uint64_t size, const std::string& origin)
      : bytes_(bytes), size_(size), origin_(origin) {}

  std::vector<TorchTensorEntry> read(std::string* wrapper_key) {
    check_format();
    for (auto& entry : torch_pickle::read_zip_directory(bytes_, size_, origin_)) {
      std::string name = entry.name;
      entries_.emplace(std::move(name), std::move(entry));
    }
    find_prefix();
    check_byte_order();
    const ZipEntry& pickle = stored(prefix_ + "data.pkl");
    ValuePtr root = torch_pickle::unpickle(bytes_ + pickle.data_begin, pickle.size, origin_ + ": data.pkl");
    const Value& dict = state_dict(*root, wrapper_key);
    std::vector<TorchTensorEntry> tensors;
    std::set<std::string> seen;
    for (const auto& [key, value] : dict.entries) {
      if (key->kind != Value::Kind::String)
        fail(std::string("the state dict has a key that is a ") + kind_name(key->kind) + ", not a string");
      if (value->kind != Value::Kind::Tensor)
        fail("entry '" + key->text + "' of the state dict is a " + kind_name(value->kind) + ", not a tensor");
      if (!seen.insert(key->text).second) fail("the state dict names '" + key->text + "' twice");
      tensors.push_back(locate(key->text, value->tensor));
    }
    return tensors;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const { throw Error(origin_ + ": " + what); }

  void check_format() const {
    switch (sniff(bytes_, size_)) {
      case Format::Zip:
        return;
      case Format::LegacyPickle:
      case Format::LegacyTar:
        fail("written in PyTorch's legacy serialization format (before PyTorch 1.6, or with "
             "_use_new_zipfile_serialization=False), which capbench does not read; convert it once with PyTorch >= 1.6: "
             "torch.save(torch.load(\"FILE\", map_location=\"cpu\"), \"NEW_FILE\") writes the zip format");
      case Format::Unknown:
        break;
    }
    fail(size_ < 4 ? "empty or truncated (" + std::to_string(size_) + " bytes): not a PyTorch checkpoint"
                   : "not a PyTorch checkpoint: neither a zip archive (what torch.save writes since PyTorch 1.6) "
                     "nor a legacy pickle");
  }

  // torch.save puts every record under one folder named after the file: "<name>/data.pkl".
  void find_prefix() {
    std::vector<std::string> pickles;
    for (const auto& [name, entry] : entries_) {
      size_t slash = name.find('/');
      if (slash != std::string::npos && name.compare(slash, std::string::npos, "/data.pkl") == 0) pickles.push_back(name);
    }
    if (pickles.size() != 1)
      fail(pickles.empty() ? "a zip archive without data.pkl: not written by torch.save"
                           : "a zip archive with " + std::to_string(pickles.size()) + " data.pkl records");
    prefix_ = pickles.front().substr(0, pickles.front().size() - std::string("data.pkl").size());
    if (entries_.count(prefix_ + "constants.pkl"))
      fail("a TorchScript archive (torch.jit.save), not a state dict; save the weights with "
           "torch.save(model.state_dict(), FILE)");
  }

  void check_byte_order() const {
    auto it = entries_.find(prefix_ + "byteorder");
    if (it == entries_.end()) return;  // before PyTorch 2.1: always little-endian
    const ZipEntry& entry = stored(it->first);
    std::string order(reinterpret_cast<const char*>(bytes_ + entry.data_begin), entry.size);
    if (order != "little") fail("stores its tensors '" + order.substr(0, 16) + "'-endian; capbench reads little-endian files");
  }

  const ZipEntry& stored(const std::string& name) const {
    auto it = entries_.find(name);
    if (it == entries_.end()) fail("lacks the zip entry '" + name + "'");
    const ZipEntry& entry = it->second;
    if (entry.method != 0 || entry.encrypted)
      fail("zip entry '" + name + "' is " + (entry.encrypted ? "encrypted" : "compressed (method " + std::to_string(entry.method) + ")") +
           "; capbench memory-maps stored entries, as torch.save writes them: load and save the state dict again with "
           "torch.save, or convert it to safetensors");
    if (entry.size != entry.compressed_size) fail("zip entry '" + name + "' is stored with two different sizes");
    return entry;
  }

  const Value& state_dict(const Value& root, std::string* wrapper_key) const {
    if (root.kind != Value::Kind::Dict)
      fail(std::string("holds a pickled ") + kind_name(root.kind) + ", not a state dict {name: tensor}");
    bool plain = true;
    for (const auto& [key, value] : root.entries) plain = plain && value->kind == Value::Kind::Tensor;
    if (!plain) {
      for (const char* wrapper : {"model", "state_dict"}) {
        for (const auto& [key, value] : root.entries) {
          if (key->is_string(wrapper) && value->kind == Value::Kind::Dict) {
            if (wrapper_key) *wrapper_key = wrapper;
            return *value;
          }
        }
      }
    }
    if (wrapper_key) wrapper_key->clear();
    return root;
  }

  TorchTensorEntry locate(const std::string& name, const torch_pickle::TensorRef& tensor) const {
    const ZipEntry& storage = stored(prefix_ + "data/" + tensor.storage.key);
    const uint64_t element = c10::elementSize(tensor.storage.dtype);
    uint64_t needed = 0;
    if (__builtin_mul_overflow(tensor.storage.numel, element, &needed) || needed > storage.size)
      fail("tensor '" + name + "': its storage data/" + tensor.storage.key + " holds " + std::to_string(storage.size) +
           " bytes, fewer than its " + std::to_string(tensor.storage.numel) + " elements of " +
           c10::toString(tensor.storage.dtype) + " need");
    TorchTensorEntry entry;
    entry.name = name;
    entry.dtype = tensor.storage.dtype;
    entry.shape = tensor.shape;
    entry.strides = tensor.strides;
    // The unpickler checked that the view lies inside the storage's elements.
    uint64_t reach = 1;
    for (size_t i = 0; i < tensor.shape.size(); ++i) {
      if (tensor.shape[i] == 0) reach = 0;
      if (reach) reach += static_cast<uint64_t>(tensor.shape[i] - 1) * static_cast<uint64_t>(tensor.strides[i]);
    }
    entry.begin = storage.data_begin + tensor.offset * element;
    entry.end = entry.begin + reach * element;
    return entry;
  }

  const uint8_t* bytes_;
  uint64_t size_;
  const std::string& origin_;
  std::map<std::string, ZipEntry> entries_;
  std::string prefix_;  // "<archive name>/"
};

}  // namespace

std::vector<TorchTensorEntry> read_torch_state_dict(const uint8_t* bytes, uint64_t size, const std::string& origin,
                                                     std::string* wrapper_key) {
  return StateDictReader(bytes, size, origin).read(wrapper_key);
}

TorchFile TorchFile::open(const std::filesystem::path& file) {
  TorchFile result;
  result.mapping_ = MappedFile::open(file);
  result.tensors_ = read_torch_state_dict(result.mapping_->data(), result.mapping_->size(), file.string(), &result.wrapper_key_);
  return result;
}

const std::filesystem::path& TorchFile::path() const { return mapping_->path(); }

}  // namespace capbench
