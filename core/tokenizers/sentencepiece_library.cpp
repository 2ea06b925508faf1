#include "core/tokenizers/sentencepiece_library.h"

#include <dlfcn.h>

#include <mutex>

#include "core/error.h"
#include "core/tokenizers/sentencepiece/capbench_spm.h"

namespace capbench {

namespace fs = std::filesystem;

namespace {

constexpr const char* kLibraryName = "libcapbench_spm.so";

struct SpmApi {
  decltype(&capbench_spm_load) load;
  decltype(&capbench_spm_free) free;
  decltype(&capbench_spm_piece_size) piece_size;
  decltype(&capbench_spm_id_to_piece) id_to_piece;
  decltype(&capbench_spm_piece_to_id) piece_to_id;
  decltype(&capbench_spm_encode) encode;
  decltype(&capbench_spm_decode_pieces) decode_pieces;
};

// The folder of libcapbench_core.so, found from one of its own symbols.
fs::path core_library_folder() {
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(&core_library_folder), &info) == 0 || info.dli_fname == nullptr) return {};
  return fs::path(info.dli_fname).parent_path();
}

template <typename F>
void bind(void* library, const char* name, F& function, const fs::path& path) {
  function = reinterpret_cast<F>(dlsym(library, name));
  if (function == nullptr) throw Error(path.string() + ": lacks the symbol " + name);
}

const SpmApi& spm_api() {
  static std::once_flag once;
  static SpmApi api{};
  static std::string failure;
  std::call_once(once, [] {
    const fs::path beside_core = core_library_folder() / kLibraryName;
    const int flags = RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND;
    void* library = dlopen(beside_core.c_str(), flags);
    std::string first_error = library ? "" : dlerror();
    if (library == nullptr) library = dlopen(kLibraryName, flags);  // LD_LIBRARY_PATH, for installs elsewhere
    if (library == nullptr) {
      failure = "SentencePiece tokenizers need " + beside_core.string() + ", which could not be loaded (" +
                first_error + "); build the capbench_spm target";
      return;
    }
    try {
      bind(library, "capbench_spm_load", api.load, beside_core);
      bind(library, "capbench_spm_free", api.free, beside_core);
      bind(library, "capbench_spm_piece_size", api.piece_size, beside_core);
      bind(library, "capbench_spm_id_to_piece", api.id_to_piece, beside_core);
      bind(library, "capbench_spm_piece_to_id", api.piece_to_id, beside_core);
      bind(library, "capbench_spm_encode", api.encode, beside_core);
      bind(library, "capbench_spm_decode_pieces", api.decode_pieces, beside_core);
    } catch (const Error& e) {
      failure = e.what();
    }
  });
  if (!failure.empty()) throw Error(failure);
  return api;
}

// Protobuf wire format, just enough to rewrite one nested field.
uint64_t read_varint(const std::string& data, size_t& pos, const fs::path& file) {
  uint64_t value = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (pos >= data.size()) break;
    const auto byte = static_cast<unsigned char>(data[pos++]);
    value |= static_cast<uint64_t>(byte & 0x7F) << shift;
    if ((byte & 0x80) == 0) return value;
  }
  throw Error(file.string() + ": not a SentencePiece model (bad protobuf varint)");
}

void write_varint(std::string& out, uint64_t value) {
  do {
    unsigned char byte = value & 0x7F;
    value >>= 7;
    if (value) byte |= 0x80;
    out += static_cast<char>(byte);
  } while (value);
}

}  // namespace

std::string without_dummy_prefix(const std::string& model, const fs::path& file) {
  constexpr uint64_t kNormalizerSpec = 3, kAddDummyPrefix = 3;
  const std::string override_field{static_cast<char>(kAddDummyPrefix << 3), '\0'};  // varint field 3 = false
  std::string out;
  bool patched = false;
  for (size_t pos = 0; pos < model.size();) {
    const size_t field_start = pos;
    const uint64_t tag = read_varint(model, pos, file);
    const uint64_t wire = tag & 7;
    size_t length = 0;
    if (wire == 0) {
      read_varint(model, pos, file);
    } else if (wire == 1) {
      length = 8;
    } else if (wire == 5) {
      length = 4;
    } else if (wire == 2) {
      length = read_varint(model, pos, file);
    } else {
      throw Error(file.string() + ": not a SentencePiece model (protobuf wire type " + std::to_string(wire) + ")");
    }
    if (pos + length > model.size()) throw Error(file.string() + ": not a SentencePiece model (truncated)");
    if (wire == 2 && (tag >> 3) == kNormalizerSpec) {
      std::string spec = model.substr(pos, length) + override_field;
      write_varint(out, tag);
      write_varint(out, spec.size());
      out += spec;
      patched = true;
    } else {
      out.append(model, field_start, pos + length - field_start);
    }
    pos += length;
  }
  if (!patched) {
    write_varint(out, (kNormalizerSpec << 3) | 2);
    write_varint(out, override_field.size());
    out += override_field;
  }
  return out;
}

struct SentencePieceModel::Handle {
  const SpmApi* api;
  capbench_spm* spm;
};

SentencePieceModel::SentencePieceModel(const std::string& model, const fs::path& file) : file_(file) {
  const SpmApi& api = spm_api();
  char error[512] = "";
  capbench_spm* spm = api.load(model.data(), model.size(), error, sizeof error);
  if (spm == nullptr) throw Error(file.string() + ": not a SentencePiece model (" + error + ")");
  handle_ = new Handle{&api, spm};
}

SentencePieceModel::~SentencePieceModel() {
  handle_->api->free(handle_->spm);
  delete handle_;
}

int SentencePieceModel::piece_size() const { return handle_->api->piece_size(handle_->spm); }

std::string_view SentencePieceModel::id_to_piece(int id) const {
  size_t size = 0;
  const char* piece = handle_->api->id_to_piece(handle_->spm, id, &size);
  return std::string_view(piece, size);
}

int SentencePieceModel::piece_to_id(std::string_view piece) const {
  return handle_->api->piece_to_id(handle_->spm, piece.data(), piece.size());
}

std::vector<int> SentencePieceModel::encode(std::string_view text) const {
  std::vector<int> ids;
  char error[512] = "";
  const auto sink = [](void* context, const int* data, size_t count) {
    static_cast<std::vector<int>*>(context)->assign(data, data + count);
  };
  if (handle_->api->encode(handle_->spm, text.data(), text.size(), sink, &ids, error, sizeof error) != 0)
    throw Error(file_.string() + ": SentencePiece encoding failed (" + error + ")");
  return ids;
}

std::string SentencePieceModel::decode_pieces(const std::vector<std::string>& pieces) const {
  std::vector<const char*> data;
  std::vector<size_t> sizes;
  for (const auto& piece : pieces) {
    data.push_back(piece.data());
    sizes.push_back(piece.size());
  }
  std::string text;
  char error[512] = "";
  const auto sink = [](void* context, const char* bytes, size_t size) {
    static_cast<std::string*>(context)->assign(bytes, size);
  };
  if (handle_->api->decode_pieces(handle_->spm, data.data(), sizes.data(), data.size(), sink, &text, error,
                                  sizeof error) != 0)
    throw Error(file_.string() + ": SentencePiece decoding failed (" + error + ")");
  return text;
}

}  // namespace capbench
