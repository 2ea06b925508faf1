// The C interface of capbench_spm.h over sentencepiece::SentencePieceProcessor.
#include "capbench_spm.h"

#include <sentencepiece_processor.h>

#include <cstring>
#include <string>
#include <string_view>
#include <vector>

struct capbench_spm {
  sentencepiece::SentencePieceProcessor processor;
};

namespace {

void write_error(const std::string& message, char* error, size_t error_size) {
  if (error == nullptr || error_size == 0) return;
  const size_t n = std::min(message.size(), error_size - 1);
  std::memcpy(error, message.data(), n);
  error[n] = '\0';
}

}  // namespace

extern "C" {

capbench_spm* capbench_spm_load(const char* model, size_t model_size, char* error, size_t error_size) {
  try {
    auto* spm = new capbench_spm;
    const auto status = spm->processor.LoadFromSerializedProto(std::string_view(model, model_size));
    if (!status.ok()) {
      write_error(status.ToString(), error, error_size);
      delete spm;
      return nullptr;
    }
    return spm;
  } catch (const std::exception& e) {
    write_error(e.what(), error, error_size);
    return nullptr;
  }
}

void capbench_spm_free(capbench_spm* spm) { delete spm; }

int capbench_spm_piece_size(const capbench_spm* spm) { return spm->processor.GetPieceSize(); }

const char* capbench_spm_id_to_piece(const capbench_spm* spm, int id, size_t* size) {
  const std::string& piece = spm->processor.IdToPiece(id);
  *size = piece.size();
  return piece.data();
}

int capbench_spm_piece_to_id(const capbench_spm* spm, const char* piece, size_t size) {
  return spm->processor.PieceToId(std::string_view(piece, size));
}

int capbench_spm_encode(const capbench_spm* spm, const char* text, size_t size, capbench_spm_ids_sink sink,
                        void* context, char* error, size_t error_size) {
  try {
    std::vector<int> ids;
    const auto status = spm->processor.Encode(std::string_view(text, size), &ids);
    if (!status.ok()) {
      write_error(status.ToString(), error, error_size);
      return -1;
    }
    sink(context, ids.data(), ids.size());
    return 0;
  } catch (const std::exception& e) {
    write_error(e.what(), error, error_size);
    return -1;
  }
}

int capbench_spm_decode_pieces(const capbench_spm* spm, const char* const* pieces, const size_t* sizes, size_t count,
                               capbench_spm_bytes_sink sink, void* context, char* error, size_t error_size) {
  try {
    std::vector<std::string_view> views;
    views.reserve(count);
    for (size_t i = 0; i < count; ++i) views.emplace_back(pieces[i], sizes[i]);
    std::string text;
    const auto status = spm->processor.Decode(views, &text);
    if (!status.ok()) {
      write_error(status.ToString(), error, error_size);
      return -1;
    }
    sink(context, text.data(), text.size());
    return 0;
  } catch (const std::exception& e) {
    write_error(e.what(), error, error_size);
    return -1;
  }
}

}  // extern "C"
