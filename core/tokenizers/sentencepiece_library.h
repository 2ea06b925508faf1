#pragma once
// A SentencePiece model, run by libcapbench_spm.so: that library is opened at
// run time with RTLD_LOCAL | RTLD_DEEPBIND (never linked) so that the copy of
// protobuf inside Debian's libsentencepiece stays apart from libtorch's.
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace capbench {

class SentencePieceModel {
 public:
  // `model` holds the bytes of a serialized ModelProto (spiece.model), `file`
  // names it in errors.
  SentencePieceModel(const std::string& model, const std::filesystem::path& file);
  ~SentencePieceModel();
  SentencePieceModel(const SentencePieceModel&) = delete;
  SentencePieceModel& operator=(const SentencePieceModel&) = delete;

  int piece_size() const;
  std::string_view id_to_piece(int id) const;  // 0 <= id < piece_size()
  int piece_to_id(std::string_view piece) const;  // the unknown id when absent
  std::vector<int> encode(std::string_view text) const;
  std::string decode_pieces(const std::vector<std::string>& pieces) const;

 private:
  struct Handle;
  Handle* handle_;
  std::filesystem::path file_;
};

// The ModelProto with normalizer_spec.add_dummy_prefix = false, as T5Tokenizer
// builds it for legacy=False (protobuf keeps the last value of a repeated scalar).
std::string without_dummy_prefix(const std::string& model, const std::filesystem::path& file);

}  // namespace capbench
