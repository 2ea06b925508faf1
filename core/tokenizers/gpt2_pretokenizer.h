#pragma once
// GPT-2's pre-tokenisation: the text is cut into words, numbers, runs of other
// symbols and whitespace by one Unicode-aware regular expression (PCRE2).
#include <memory>
#include <string_view>
#include <vector>

namespace capbench {

class Gpt2Pretokenizer {
 public:
  Gpt2Pretokenizer();
  ~Gpt2Pretokenizer();
  Gpt2Pretokenizer(const Gpt2Pretokenizer&) = delete;
  Gpt2Pretokenizer& operator=(const Gpt2Pretokenizer&) = delete;

  // The matches of the pattern in valid UTF-8 `text`, in order (re.findall).
  std::vector<std::string_view> split(std::string_view text) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace capbench
