#include "core/torch_pickle/torch_writer.h"

#include <ATen/ATen.h>
#include <caffe2/serialize/inline_container.h>

#include <cstring>

#include "core/error.h"

namespace capbench {

namespace {

const char* storage_class(at::ScalarType dtype) {
  switch (dtype) {
    case at::kFloat: return "FloatStorage";
    case at::kDouble: return "DoubleStorage";
    case at::kHalf: return "HalfStorage";
    case at::kBFloat16: return "BFloat16Storage";
    case at::kLong: return "LongStorage";
    case at::kInt: return "IntStorage";
    case at::kShort: return "ShortStorage";
    case at::kChar: return "CharStorage";
    case at::kByte: return "ByteStorage";
    case at::kBool: return "BoolStorage";
    default: throw Error(std::string("a torch state dict here cannot hold dtype ") + c10::toString(dtype));
  }
}

// Protocol-2 opcodes, enough for a state dict.
class PickleText {
 public:
  void op(char c) { text_ += c; }
  void global(const std::string& module, const std::string& name) { text_ += "c" + module + "\n" + name + "\n"; }
  void string(const std::string& s) {
    op('X');
    uint32_t n = static_cast<uint32_t>(s.size());
    text_.append(reinterpret_cast<const char*>(&n), 4);
    text_ += s;
  }
  void integer(int64_t v) {
    if (v >= 0 && v < (int64_t{1} << 31)) {
      op('J');
      int32_t n = static_cast<int32_t>(v);
      text_.append(reinterpret_cast<const char*>(&n), 4);
    } else {
      text_ += "\x8a\x08";  // LONG1, 8 bytes
      text_.append(reinterpret_cast<const char*>(&v), 8);
    }
  }
  void int_tuple(at::IntArrayRef values) {
    op('(');
    for (int64_t v : values) integer(v);
    op('t');
  }
  void empty_ordered_dict() {
    global("collections", "OrderedDict");
    op(')');
    op('R');
  }
  std::string& text() { return text_; }

 private:
  std::string text_;
};

}  // namespace

std::string state_dict_pickle(const std::vector<std::pair<std::string, at::Tensor>>& tensors, const std::string& wrapper) {
  PickleText p;
  p.text() = "\x80\x02";
  if (!wrapper.empty()) {
    p.op('}');
    p.string(wrapper);
  }
  p.empty_ordered_dict();
  p.op('(');
  for (size_t i = 0; i < tensors.size(); ++i) {
    const at::Tensor& t = tensors[i].second;
    p.string(tensors[i].first);
    p.global("torch._utils", "_rebuild_tensor_v2");
    p.op('(');
    p.op('(');  // persistent id ("storage", class, key, location, numel)
    p.string("storage");
    p.global("torch", storage_class(t.scalar_type()));
    p.string(std::to_string(i));
    p.string("cpu");
    p.integer(t.numel());
    p.op('t');
    p.op('Q');
    p.integer(0);  // storage offset
    p.int_tuple(t.sizes());
    p.int_tuple(t.contiguous().strides());
    p.op('\x89');  // requires_grad False
    p.empty_ordered_dict();
    p.op('t');
    p.op('R');
  }
  p.op('u');
  if (!wrapper.empty()) p.op('s');
  p.op('.');
  return p.text();
}

namespace {

// One archive, records written as they come; c10 errors become capbench errors.
template <class Body>
void write_archive(const std::filesystem::path& path, Body body) {
  try {
    caffe2::serialize::PyTorchStreamWriter writer(path.string());
    body(writer);
    writer.writeEndOfFile();
  } catch (const c10::Error& e) {
    throw Error(path.string() + ": cannot be written (" + e.what_without_backtrace() + ")");
  }
}

}  // namespace

void write_torch_state_dict(const std::filesystem::path& path, const std::vector<std::pair<std::string, at::Tensor>>& tensors,
                            const std::string& wrapper) {
  const std::string pickle = state_dict_pickle(tensors, wrapper);
  write_archive(path, [&](caffe2::serialize::PyTorchStreamWriter& writer) {
    writer.writeRecord("data.pkl", pickle.data(), pickle.size());
    for (size_t i = 0; i < tensors.size(); ++i) {
      at::Tensor cpu = tensors[i].second.detach().to(at::kCPU).contiguous();  // one tensor at a time
      writer.writeRecord("data/" + std::to_string(i), cpu.data_ptr(), cpu.numel() * cpu.element_size());
    }
  });
}

void write_torch_archive(const std::filesystem::path& path, const std::vector<std::pair<std::string, std::string>>& records,
                         bool compress) {
  write_archive(path, [&](caffe2::serialize::PyTorchStreamWriter& writer) {
    for (const auto& [name, bytes] : records) writer.writeRecord(name, bytes.data(), bytes.size(), compress);
  });
}

}  // namespace capbench
