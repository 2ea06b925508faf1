#include "core/tokenizer.h"

#include "core/error.h"
#include "core/tokenizers/bpe_tokenizer.h"
#include "core/tokenizers/sentencepiece_tokenizer.h"
#include "core/tokenizers/tokenizer_config.h"
#include "core/tokenizers/wordpiece_tokenizer.h"

namespace capbench {

namespace fs = std::filesystem;

namespace {

bool starts_with(const std::string& text, const char* prefix) { return text.rfind(prefix, 0) == 0; }

}  // namespace

std::unique_ptr<Tokenizer> load_tokenizer(const fs::path& folder) {
  if (!fs::is_directory(folder)) throw Error(folder.string() + ": not a folder (a tokenizer is read from a folder)");
  const TokenizerConfig config = read_tokenizer_config(folder);
  const std::string cls = config.tokenizer_class();
  const bool has_spiece = fs::exists(folder / "spiece.model");
  const bool has_wordpiece = fs::exists(folder / "vocab.txt");
  const bool has_bpe = fs::exists(folder / "vocab.json") && fs::exists(folder / "merges.txt");
  const bool has_fast = fs::exists(folder / "tokenizer.json");

  // The class the folder names decides; without one, the files do.
  if (starts_with(cls, "T5") && has_spiece) return std::make_unique<SentencePieceTokenizer>(config);
  if ((starts_with(cls, "Bert") || starts_with(cls, "DistilBert")) && has_wordpiece)
    return std::make_unique<WordPieceTokenizer>(config);
  if ((starts_with(cls, "GPT2") || starts_with(cls, "Roberta") || starts_with(cls, "Bart")) && (has_bpe || has_fast))
    return std::make_unique<BpeTokenizer>(config);
  if (has_spiece) return std::make_unique<SentencePieceTokenizer>(config);
  if (has_bpe) return std::make_unique<BpeTokenizer>(config);
  if (has_wordpiece) return std::make_unique<WordPieceTokenizer>(config);
  if (has_fast) return std::make_unique<BpeTokenizer>(config);
  throw Error(folder.string() +
              ": no tokenizer files (looked for spiece.model, vocab.json + merges.txt, vocab.txt, tokenizer.json)");
}

}  // namespace capbench
