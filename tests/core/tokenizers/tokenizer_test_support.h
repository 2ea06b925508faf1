#pragma once
// Helpers shared by the tokenizer tests: fixture paths, reference JSON, a
// scratch copy of a tokenizer folder, and the int64 tensors of a
// references.safetensors file.
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/json_file.h"
#include "tests/test_support.h"

namespace capbench::test {

inline std::filesystem::path fixtures() { return capbench::testing::fixture(); }

// A fresh temporary folder (tests/test_support.h), removed with the object.
class ScratchFolder : public capbench::testing::TempDir {
 public:
  // Copies `file` in (under its own name, or `name`).
  void add(const std::filesystem::path& file, const std::string& name = "") const {
    std::filesystem::copy_file(file, path() / (name.empty() ? file.filename().string() : name));
  }
  void write(const std::string& name, const std::string& content) const {
    capbench::testing::write_text(path() / name, content);
  }
};

// int64 tensors of a safetensors file, by name, flattened (with their shapes).
struct Int64Tensor {
  std::vector<int64_t> shape;
  std::vector<int64_t> values;
};
inline std::map<std::string, Int64Tensor> read_int64_tensors(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  uint64_t header_size = 0;
  in.read(reinterpret_cast<char*>(&header_size), 8);
  std::string header(header_size, '\0');
  in.read(header.data(), static_cast<std::streamsize>(header_size));
  const auto json = nlohmann::json::parse(header);
  std::map<std::string, Int64Tensor> tensors;
  for (const auto& [name, info] : json.items()) {
    if (name == "__metadata__" || info["dtype"] != "I64") continue;
    Int64Tensor t;
    t.shape = info["shape"].get<std::vector<int64_t>>();
    const auto begin = info["data_offsets"][0].get<uint64_t>(), end = info["data_offsets"][1].get<uint64_t>();
    t.values.resize((end - begin) / 8);
    in.seekg(static_cast<std::streamoff>(8 + header_size + begin));
    in.read(reinterpret_cast<char*>(t.values.data()), static_cast<std::streamsize>(end - begin));
    tensors[name] = std::move(t);
  }
  return tensors;
}

}  // namespace capbench::test
