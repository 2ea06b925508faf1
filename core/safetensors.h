#pragma once
// The safetensors format (https://huggingface.co/docs/safetensors): an 8-byte
// little-endian header length N, N bytes of JSON {name: {dtype, shape,
// data_offsets: [begin, end)}, "__metadata__": {string: string}}, then the data
// area the offsets index into. Parsing validates everything before any tensor
// is touched; writing produces files Hugging Face's reader accepts.
#include <ATen/core/Tensor.h>
#include <c10/core/ScalarType.h>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace capbench {

// One tensor of a safetensors header; offsets are absolute within the file.
struct SafetensorsEntry {
  std::string name;
  at::ScalarType dtype;
  std::vector<int64_t> shape;
  uint64_t begin = 0;  // first byte in the file
  uint64_t end = 0;    // one past the last byte
};

struct SafetensorsHeader {
  std::vector<SafetensorsEntry> tensors;  // in data (file) order
  std::vector<std::pair<std::string, std::string>> metadata;  // `__metadata__`, key order
  uint64_t data_begin = 0;  // 8 + header length
};

// Validates and parses the whole file held in `bytes[0, size)`: header length
// within the file (and below 100 MB, Hugging Face's limit), well-formed JSON,
// known dtypes, shape x element size == byte span, spans inside the data area,
// no two spans overlapping. Throws Error "<origin>: ..." (naming the tensor
// where one is at fault) for anything else; never reads outside the buffer.
SafetensorsHeader parse_safetensors(const uint8_t* bytes, uint64_t size, const std::string& origin);

// "F32" -> at::kFloat, ...; nullopt for names outside F64 F32 F16 BF16 I64 I32 I16 I8 U8 BOOL.
std::optional<at::ScalarType> safetensors_dtype(const std::string& name);
std::string safetensors_dtype_name(at::ScalarType dtype);  // throws Error for dtypes the format lacks
size_t safetensors_element_size(at::ScalarType dtype);

// A read-only-by-convention, copy-on-write memory map of a whole file
// (MAP_PRIVATE, PROT_READ|PROT_WRITE: a stray in-place write to a view changes
// this process's copy of the page, never the file, and cannot fault).
class MappedFile {
 public:
  static std::shared_ptr<MappedFile> open(const std::filesystem::path& file);  // throws Error
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  uint8_t* data() const { return data_; }
  uint64_t size() const { return size_; }
  const std::filesystem::path& path() const { return path_; }
  // Tells the kernel the whole pages inside [begin, end) are not needed now: they
  // leave this process's resident set and are read again from the file if touched.
  // Only for ranges no one has written to (a written private page would be lost).
  void release(uint64_t begin, uint64_t end) const;

 private:
  MappedFile(std::filesystem::path path, uint8_t* data, uint64_t size) : path_(std::move(path)), data_(data), size_(size) {}
  std::filesystem::path path_;
  uint8_t* data_;
  uint64_t size_;
};

// One validated safetensors file and its mapping.
class SafetensorsFile {
 public:
  static SafetensorsFile open(const std::filesystem::path& file);  // throws Error

  const std::filesystem::path& path() const { return mapping_->path(); }
  const SafetensorsHeader& header() const { return header_; }
  const std::shared_ptr<MappedFile>& mapping() const { return mapping_; }
  // Zero-copy CPU tensor over entry `index` of header().tensors; keeps the mapping alive.
  at::Tensor view(size_t index) const;

 private:
  std::shared_ptr<MappedFile> mapping_;
  SafetensorsHeader header_;
};

// Writes `tensors` (any device; stored contiguous, little-endian, in the given
// order) and `metadata` as `__metadata__`. The header is padded with spaces to a
// multiple of 8 bytes so that the data area is aligned. Writes a temporary file
// beside `path` and renames it, so a failed write leaves no half file.
void write_safetensors(const std::filesystem::path& path, const std::vector<std::pair<std::string, at::Tensor>>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

}  // namespace capbench
