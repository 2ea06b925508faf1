#include "core/safetensors.h"

#include <ATen/Functions.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>

#include "core/error.h"

namespace capbench {

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "safetensors is little-endian; capbench maps it as is");

namespace {

// Hugging Face's reader refuses larger headers; so does capbench, before parsing.
constexpr uint64_t kMaxHeaderBytes = 100'000'000;

struct DtypeName {
  const char* name;
  at::ScalarType dtype;
};
constexpr DtypeName kDtypes[] = {
    {"F64", at::kDouble}, {"F32", at::kFloat}, {"F16", at::kHalf}, {"BF16", at::kBFloat16}, {"I64", at::kLong},
    {"I32", at::kInt},    {"I16", at::kShort}, {"I8", at::kChar},  {"U8", at::kByte},       {"BOOL", at::kBool},
};

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i) text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + "]";
}

class HeaderParser {
 public:
  HeaderParser(const uint8_t* bytes, uint64_t size, const std::string& origin)
      : bytes_(bytes), size_(size), origin_(origin) {}

  SafetensorsHeader parse() {
    if (size_ < 8)
      fail("truncated: " + std::to_string(size_) + " bytes, too short for the 8-byte header length of a safetensors file");
    uint64_t length = 0;
    std::memcpy(&length, bytes_, 8);
    if (length > size_ - 8)
      fail("header length " + std::to_string(length) + " runs past the end of the file (" + std::to_string(size_) +
           " bytes): the file is truncated or not safetensors");
    if (length > kMaxHeaderBytes)
      fail("header length " + std::to_string(length) + " exceeds the 100 MB that safetensors allows");
    SafetensorsHeader header;
    header.data_begin = 8 + length;
    const nlohmann::json json = parse_json(reinterpret_cast<const char*>(bytes_) + 8, length);
    if (!json.is_object()) fail("header is not a JSON object");
    for (const auto& [key, value] : json.items()) {
      if (key == "__metadata__")
        read_metadata(value, header);
      else
        header.tensors.push_back(read_entry(key, value, header.data_begin));
    }
    check_overlaps(header.tensors);
    return header;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const { throw Error(origin_ + ": " + what); }
  [[noreturn]] void fail(const std::string& tensor, const std::string& what) const {
    fail("tensor '" + tensor + "' " + what);
  }

  nlohmann::json parse_json(const char* text, uint64_t length) const {
    // nlohmann keeps the last of duplicate keys silently; a header naming a tensor
    // twice is ambiguous, so the top level's keys are checked as they are read.
    std::set<std::string> keys;
    auto on_event = [&](int depth, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
      if (event == nlohmann::json::parse_event_t::key && depth == 1 && !keys.insert(parsed.get<std::string>()).second)
        fail("header names '" + parsed.get<std::string>() + "' twice");
      return true;
    };
    try {
      return nlohmann::json::parse(text, text + length, on_event);
    } catch (const nlohmann::json::exception& e) {
      fail(std::string("malformed header JSON (") + e.what() + ")");
    }
  }

  void read_metadata(const nlohmann::json& value, SafetensorsHeader& header) const {
    if (!value.is_object()) fail("'__metadata__' must be a JSON object of strings");
    for (const auto& [key, text] : value.items()) {
      if (!text.is_string()) fail("'__metadata__' value '" + key + "' must be a string");
      header.metadata.emplace_back(key, text.get<std::string>());
    }
  }

  uint64_t unsigned_value(const std::string& name, const nlohmann::json& value, const char* field) const {
    if (!value.is_number_unsigned() && !(value.is_number_integer() && value.get<int64_t>() >= 0))
      fail(name, std::string("has a ") + field + " entry that is not a non-negative integer");
    return value.get<uint64_t>();
  }

  SafetensorsEntry read_entry(const std::string& name, const nlohmann::json& value, uint64_t data_begin) const {
    if (!value.is_object()) fail(name, "must be described by a JSON object {dtype, shape, data_offsets}");
    SafetensorsEntry entry;
    entry.name = name;

    auto dtype = value.find("dtype");
    if (dtype == value.end() || !dtype->is_string()) fail(name, "lacks a string 'dtype'");
    auto known = safetensors_dtype(dtype->get<std::string>());
    if (!known)
      fail(name, "has unknown dtype '" + dtype->get<std::string>() +
                     "' (capbench reads F64, F32, F16, BF16, I64, I32, I16, I8, U8 and BOOL)");
    entry.dtype = *known;

    auto shape = value.find("shape");
    if (shape == value.end() || !shape->is_array()) fail(name, "lacks a 'shape' array");
    uint64_t bytes = safetensors_element_size(entry.dtype);
    for (const auto& dim : *shape) {
      uint64_t d = unsigned_value(name, dim, "shape");
      if (d > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) || __builtin_mul_overflow(bytes, d, &bytes))
        fail(name, "has a shape too large to exist: " + shape->dump());
      entry.shape.push_back(static_cast<int64_t>(d));
    }

    auto offsets = value.find("data_offsets");
    if (offsets == value.end() || !offsets->is_array() || offsets->size() != 2)
      fail(name, "lacks 'data_offsets' [begin, end]");
    uint64_t begin = unsigned_value(name, (*offsets)[0], "data_offsets");
    uint64_t end = unsigned_value(name, (*offsets)[1], "data_offsets");
    uint64_t data_size = size_ - data_begin;
    if (begin > end || end > data_size)
      fail(name, "has data_offsets [" + std::to_string(begin) + ", " + std::to_string(end) +
                     "] outside the data area of " + std::to_string(data_size) + " bytes (truncated file?)");
    if (end - begin != bytes)
      fail(name, "spans " + std::to_string(end - begin) + " bytes but its shape " + shape_text(entry.shape) + " of " +
                     dtype->get<std::string>() + " needs " + std::to_string(bytes));
    entry.begin = data_begin + begin;
    entry.end = data_begin + end;
    return entry;
  }

  void check_overlaps(std::vector<SafetensorsEntry>& tensors) const {
    std::sort(tensors.begin(), tensors.end(), [](const SafetensorsEntry& a, const SafetensorsEntry& b) {
      return std::tie(a.begin, a.end, a.name) < std::tie(b.begin, b.end, b.name);
    });
    const SafetensorsEntry* previous = nullptr;
    for (const auto& entry : tensors) {
      if (entry.begin == entry.end) continue;  // empty tensors occupy no bytes
      if (previous && entry.begin < previous->end)
        fail(entry.name, "overlaps tensor '" + previous->name + "' in the data area");
      previous = &entry;
    }
  }

  const uint8_t* bytes_;
  uint64_t size_;
  const std::string& origin_;
};

std::string system_error(const std::string& what) { return what + ": " + std::strerror(errno); }

}  // namespace

std::optional<at::ScalarType> safetensors_dtype(const std::string& name) {
  for (const auto& d : kDtypes)
    if (name == d.name) return d.dtype;
  return std::nullopt;
}

std::string safetensors_dtype_name(at::ScalarType dtype) {
  for (const auto& d : kDtypes)
    if (dtype == d.dtype) return d.name;
  throw Error(std::string("safetensors cannot store dtype ") + c10::toString(dtype));
}

size_t safetensors_element_size(at::ScalarType dtype) { return c10::elementSize(dtype); }

SafetensorsHeader parse_safetensors(const uint8_t* bytes, uint64_t size, const std::string& origin) {
  return HeaderParser(bytes, size, origin).parse();
}

std::shared_ptr<MappedFile> MappedFile::open(const std::filesystem::path& file) {
  int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw Error(system_error(file.string() + ": cannot be opened"));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    throw Error(file.string() + ": not a regular file");
  }
  auto size = static_cast<uint64_t>(st.st_size);
  void* data = nullptr;
  if (size > 0) {
    data = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    if (data == MAP_FAILED) {
      std::string message = system_error(file.string() + ": cannot be memory-mapped");
      ::close(fd);
      throw Error(message);
    }
  }
  ::close(fd);
  return std::shared_ptr<MappedFile>(new MappedFile(file, static_cast<uint8_t*>(data), size));
}

MappedFile::~MappedFile() {
  if (data_) ::munmap(data_, size_);
}

void MappedFile::release(uint64_t begin, uint64_t end) const {
  static const uint64_t page = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
  auto base = reinterpret_cast<uintptr_t>(data_);
  uintptr_t first = (base + begin + page - 1) / page * page;
  uintptr_t last = (base + std::min(end, size_)) / page * page;
  if (first < last) ::madvise(reinterpret_cast<void*>(first), last - first, MADV_DONTNEED);
}

SafetensorsFile SafetensorsFile::open(const std::filesystem::path& file) {
  SafetensorsFile result;
  result.mapping_ = MappedFile::open(file);
  result.header_ = parse_safetensors(result.mapping_->data(), result.mapping_->size(), file.string());
  return result;
}

at::Tensor SafetensorsFile::view(size_t index) const {
  const SafetensorsEntry& entry = header_.tensors.at(index);
  std::shared_ptr<MappedFile> keep_alive = mapping_;
  return at::from_blob(
      mapping_->data() + entry.begin, entry.shape, [keep_alive](void*) {}, at::TensorOptions().dtype(entry.dtype));
}

void write_safetensors(const std::filesystem::path& path, const std::vector<std::pair<std::string, at::Tensor>>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  nlohmann::json header = nlohmann::json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  uint64_t offset = 0;
  for (const auto& [name, tensor] : tensors) {
    if (!tensor.defined()) throw Error(path.string() + ": tensor '" + name + "' is undefined");
    if (header.contains(name)) throw Error(path.string() + ": tensor name '" + name + "' is used twice (or is reserved)");
    uint64_t bytes = static_cast<uint64_t>(tensor.numel()) * tensor.element_size();
    header[name] = {{"dtype", safetensors_dtype_name(tensor.scalar_type())},
                    {"shape", tensor.sizes().vec()},
                    {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  std::string text;
  try {
    text = header.dump();
  } catch (const nlohmann::json::exception& e) {
    throw Error(path.string() + ": a tensor name or metadata string is not valid UTF-8 (" + e.what() + ")");
  }
  text.append((8 - text.size() % 8) % 8, ' ');

  std::filesystem::path temporary = path;
  temporary += ".tmp" + std::to_string(::getpid());
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    if (!out) throw Error(system_error(temporary.string() + ": cannot be created"));
    uint64_t length = text.size();
    out.write(reinterpret_cast<const char*>(&length), 8);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    for (const auto& [name, tensor] : tensors) {
      at::Tensor cpu = tensor.detach().to(at::kCPU).contiguous();  // one tensor at a time
      out.write(static_cast<const char*>(cpu.data_ptr()), static_cast<std::streamsize>(cpu.numel() * cpu.element_size()));
    }
    out.close();
    if (!out) {
      std::filesystem::remove(temporary);
      throw Error(path.string() + ": write failed (disk full?)");
    }
  }
  std::error_code error;
  std::filesystem::rename(temporary, path, error);
  if (error) {
    std::filesystem::remove(temporary);
    throw Error(path.string() + ": cannot be written (" + error.message() + ")");
  }
}

}  // namespace capbench
