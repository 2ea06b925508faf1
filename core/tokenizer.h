#pragma once
// Tokenizers that give exactly the ids of Hugging Face's tokenizer for the same
// folder: byte-level BPE (GPT-2/OPT), SentencePiece (T5) and WordPiece (BERT).
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace capbench {

struct SpecialTokens {  // -1 where the tokenizer has none
  int64_t bos = -1, eos = -1, pad = -1, unk = -1, cls = -1, sep = -1;
};

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;
  // With add_special_tokens, the model's own framing (OPT: </s> first; T5: </s>
  // last; BERT: [CLS] ... [SEP]). Truncation to max_length (> 0) as HF does.
  virtual std::vector<int64_t> encode(std::string_view text, bool add_special_tokens = true,
                                      int64_t max_length = 0) const = 0;
  // Ids outside the vocabulary decode to nothing (with one warning; WordPiece
  // gives [UNK], as BertTokenizer does); invalid UTF-8 from byte tokens becomes
  // U+FFFD, as Hugging Face does. encode() throws Error on invalid UTF-8 text.
  virtual std::string decode(const std::vector<int64_t>& ids, bool skip_special_tokens = true) const = 0;
  virtual const SpecialTokens& special_tokens() const = 0;
  virtual int64_t vocab_size() const = 0;
  // "left" for decoder-only generation (OPT), "right" otherwise.
  virtual std::string padding_side() const = 0;
};

// Chooses the tokenizer from the folder's files and config; throws Error naming
// the files it looked for when there is none.
std::unique_ptr<Tokenizer> load_tokenizer(const std::filesystem::path& folder);

}  // namespace capbench
