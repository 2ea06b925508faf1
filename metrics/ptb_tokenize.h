#pragma once
// Caption normalisation before BLEU, ROUGE-L and CIDEr-D, in the manner of
// pycocoevalcap's tokenizer/ptbtokenizer.py (Stanford PTBTokenizer with
// -lowerCase, then its punctuation tokens dropped), without Java. How close
// it comes is documented in metrics/README.md.
#include <string>
#include <string_view>
#include <vector>

namespace capbench {

// Lower-cased tokens with punctuation split off and dropped; clitics split as
// PTB does ("man's" -> "man 's", "isn't" -> "is n't", "cannot" -> "can not").
std::vector<std::string> ptb_tokens(std::string_view caption);

// ptb_tokens joined by single spaces: the text pycocoevalcap's scorers receive.
std::string ptb_tokenize(std::string_view caption);

}  // namespace capbench
