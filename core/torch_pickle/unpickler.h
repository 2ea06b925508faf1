#pragma once
// A restricted unpickler for the data.pkl of a torch.save archive.
//
// Python's pickle calls whatever the file names (GLOBAL imports a callable,
// REDUCE calls it), so loading a checkpoint from anywhere can run any code.
// This reader knows only the few globals a state dict needs and turns them into
// plain values; any other global is refused where it is named, before anything
// after it is read. Nothing is imported, called or executed, ever.
//
// Known globals: collections.OrderedDict; torch._utils._rebuild_tensor_v2,
// _rebuild_tensor and _rebuild_parameter; the storage classes
// torch.{Float,Double,Half,BFloat16,Long,Int,Short,Char,Byte,Bool}Storage, named
// in the persistent ids ("storage", class, key, location, numel) by which
// torch.save refers to the archive's data/<key> entries.
#include <c10/core/ScalarType.h>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace capbench::torch_pickle {

struct StorageRef {
  std::string key;  // the archive's data/<key> entry
  at::ScalarType dtype = at::kFloat;
  uint64_t numel = 0;  // elements
};

// A tensor as _rebuild_tensor_v2 describes it: a strided view of a storage. The
// view is checked to lie inside the storage's numel elements.
struct TensorRef {
  StorageRef storage;
  uint64_t offset = 0;  // elements
  std::vector<int64_t> shape, strides;
};

struct Value;
using ValuePtr = std::shared_ptr<Value>;

struct Value {
  enum class Kind { None, Bool, Int, Float, String, Bytes, Tuple, List, Dict, Global, Storage, Tensor };
  enum class Global { OrderedDict, RebuildTensorV2, RebuildTensor, RebuildParameter, StorageClass };

  Kind kind = Kind::None;
  bool boolean = false;
  int64_t integer = 0;
  double real = 0;
  std::string text;                                    // String, Bytes; Global: "module.name"
  std::vector<ValuePtr> items;                         // Tuple, List
  std::vector<std::pair<ValuePtr, ValuePtr>> entries;  // Dict, in insertion order
  Global global = Global::OrderedDict;                 // Global
  StorageRef storage;                                  // Storage; a StorageClass global's dtype
  TensorRef tensor;                                    // Tensor

  // Bookkeeping of the reader: a container placed inside another is sealed (no
  // later APPEND/SETITEM may change it), which rules out cycles; depth bounds
  // nesting so that nothing recurses deeply on hostile input.
  bool sealed = false;
  int depth = 1;

  bool is_string(const std::string& s) const { return kind == Kind::String && text == s; }
};

// "dict", "tensor", ...: for messages.
const char* kind_name(Value::Kind kind);

// Reads the pickle in `bytes[0, size)` (protocols 2 to 5 as torch.save writes
// them) and returns its object. Throws Error "<origin>: ..." naming the byte
// offset for a global outside the list above, an opcode it does not know, or a
// malformed or truncated stream; never reads outside the buffer.
ValuePtr unpickle(const uint8_t* bytes, size_t size, const std::string& origin);

}  // namespace capbench::torch_pickle
