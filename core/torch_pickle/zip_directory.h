#pragma once
// The central directory of a ZIP or ZIP64 archive held in memory (a mapped
// file), read with minizip: each entry's name, compression method, sizes and
// where its data begins, so that stored (uncompressed) entries can be used in
// place without copying them out.
#include <cstdint>
#include <string>
#include <vector>

namespace capbench::torch_pickle {

struct ZipEntry {
  std::string name;
  uint32_t method = 0;           // 0 stored, 8 deflate, ...
  bool encrypted = false;
  uint64_t size = 0;             // uncompressed
  uint64_t compressed_size = 0;  // what lies in the file
  uint64_t data_begin = 0;       // offset of its data in the archive; read for stored, unencrypted entries only
};

// Reads every entry of the archive held in `bytes[0, size)`. Checks that each
// entry's local header agrees with the central directory and that its data lies
// inside the buffer. Throws Error "<origin>: ..." for anything else (not a zip,
// truncated, damaged); never reads outside the buffer.
std::vector<ZipEntry> read_zip_directory(const uint8_t* bytes, uint64_t size, const std::string& origin);

}  // namespace capbench::torch_pickle
