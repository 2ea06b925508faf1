#include "core/torch_pickle/zip_directory.h"

#include <unzip.h>

#include <algorithm>
#include <cstring>
#include <memory>

#include "core/error.h"

namespace capbench::torch_pickle {

namespace {

// minizip reads through these callbacks from the buffer instead of a FILE*.
struct Cursor {
  const uint8_t* data;
  uint64_t size;
  uint64_t position;
};

voidpf ZCALLBACK open_buffer(voidpf opaque, const void*, int mode) {
  if (mode & ZLIB_FILEFUNC_MODE_WRITE) return nullptr;
  const auto* buffer = static_cast<const Cursor*>(opaque);
  return new Cursor{buffer->data, buffer->size, 0};
}

uLong ZCALLBACK read_buffer(voidpf, voidpf stream, void* out, uLong length) {
  auto* cursor = static_cast<Cursor*>(stream);
  uint64_t available = cursor->size - std::min(cursor->position, cursor->size);
  uint64_t n = std::min<uint64_t>(length, available);
  if (n) std::memcpy(out, cursor->data + cursor->position, n);
  cursor->position += n;
  return static_cast<uLong>(n);
}

uLong ZCALLBACK write_nothing(voidpf, voidpf, const void*, uLong) { return 0; }

ZPOS64_T ZCALLBACK tell_buffer(voidpf, voidpf stream) { return static_cast<Cursor*>(stream)->position; }

long ZCALLBACK seek_buffer(voidpf, voidpf stream, ZPOS64_T offset, int origin) {
  auto* cursor = static_cast<Cursor*>(stream);
  uint64_t base = origin == ZLIB_FILEFUNC_SEEK_CUR ? cursor->position : origin == ZLIB_FILEFUNC_SEEK_END ? cursor->size : 0;
  uint64_t target = 0;
  if (__builtin_add_overflow(base, offset, &target) || target > cursor->size) return -1;
  cursor->position = target;
  return 0;
}

int ZCALLBACK close_buffer(voidpf, voidpf stream) {
  delete static_cast<Cursor*>(stream);
  return 0;
}

int ZCALLBACK no_error(voidpf, voidpf) { return 0; }

struct CloseZip {
  void operator()(unzFile zip) const { unzClose(zip); }
};

}  // namespace

std::vector<ZipEntry> read_zip_directory(const uint8_t* bytes, uint64_t size, const std::string& origin) {
  auto fail = [&](const std::string& what) -> Error { return Error(origin + ": " + what); };
  Cursor buffer{bytes, size, 0};
  zlib_filefunc64_def functions{};
  functions.zopen64_file = open_buffer;
  functions.zread_file = read_buffer;
  functions.zwrite_file = write_nothing;
  functions.ztell64_file = tell_buffer;
  functions.zseek64_file = seek_buffer;
  functions.zclose_file = close_buffer;
  functions.zerror_file = no_error;
  functions.opaque = &buffer;
  std::unique_ptr<void, CloseZip> zip(unzOpen2_64("buffer", &functions));
  if (!zip)
    throw fail("not a complete zip archive: its central directory (at the end of the file) is missing or damaged "
               "(truncated file?)");

  std::vector<ZipEntry> entries;
  int status = unzGoToFirstFile(zip.get());
  for (; status == UNZ_OK; status = unzGoToNextFile(zip.get())) {
    unz_file_info64 info{};
    if (unzGetCurrentFileInfo64(zip.get(), &info, nullptr, 0, nullptr, 0, nullptr, 0) != UNZ_OK)
      throw fail("damaged zip central directory");
    ZipEntry entry;
    entry.name.resize(info.size_filename);
    if (unzGetCurrentFileInfo64(zip.get(), &info, entry.name.data(), info.size_filename, nullptr, 0, nullptr, 0) != UNZ_OK)
      throw fail("damaged zip central directory");
    entry.method = static_cast<uint32_t>(info.compression_method);
    entry.encrypted = (info.flag & 1) != 0;
    entry.size = info.uncompressed_size;
    entry.compressed_size = info.compressed_size;
    if (entry.method == 0 && !entry.encrypted) {
      // Opening the entry raw reads (and checks) its local header, after which
      // minizip knows where the data starts.
      int method = 0, level = 0;
      if (unzOpenCurrentFile2(zip.get(), &method, &level, 1) != UNZ_OK)
        throw fail("zip entry '" + entry.name + "' has a damaged local header");
      entry.data_begin = unzGetCurrentFileZStreamPos64(zip.get());
      unzCloseCurrentFile(zip.get());
      if (entry.data_begin > size || entry.compressed_size > size - entry.data_begin)
        throw fail("zip entry '" + entry.name + "' runs past the end of the file (truncated file?)");
    }
    entries.push_back(std::move(entry));
  }
  if (status != UNZ_END_OF_LIST_OF_FILE) throw fail("damaged zip central directory");
  return entries;
}

}  // namespace capbench::torch_pickle
