#pragma once
// What the checkpoint tests add to tests/test_support.h: safetensors bytes.
#include <cstdint>
#include <string>
#include <vector>

#include "tests/test_support.h"

namespace capbench::testing {

// A safetensors file from a header text and a data area, with the length prefix.
inline std::vector<uint8_t> safetensors_bytes(const std::string& header, const std::vector<uint8_t>& data) {
  std::vector<uint8_t> bytes(8);
  uint64_t length = header.size();
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<uint8_t>(length >> (8 * i));
  bytes.insert(bytes.end(), header.begin(), header.end());
  bytes.insert(bytes.end(), data.begin(), data.end());
  return bytes;
}

}  // namespace capbench::testing
