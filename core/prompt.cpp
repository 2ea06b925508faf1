#include "core/prompt.h"

#include <fstream>

#include "core/error.h"

namespace capbench {

std::string vqa_prompt(const std::string& question) { return "Question: " + question + " Answer:"; }

std::string context_prompt(const std::vector<QaTurn>& turns, const std::string& question) {
  std::string text;
  for (const QaTurn& turn : turns) {
    if (!text.empty()) text += ' ';
    text += "Question: " + turn.question + " Answer: " + turn.answer + ".";
  }
  if (!text.empty()) text += ' ';
  return text + vqa_prompt(question);
}

QaTurn parse_turn(const std::string& text) {
  const size_t split = text.find('=');
  if (split == std::string::npos)
    throw Error("context turn '" + text + "' must be written question=answer");
  return {text.substr(0, split), text.substr(split + 1)};
}

std::vector<QaTurn> read_context_file(const std::filesystem::path& file) {
  std::ifstream in(file);
  if (!in) throw Error(file.string() + ": cannot open the context file");
  std::vector<QaTurn> turns;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    const size_t tab = line.find('\t');
    if (tab != std::string::npos) {
      turns.push_back({line.substr(0, tab), line.substr(tab + 1)});
      continue;
    }
    try {
      turns.push_back(parse_turn(line));
    } catch (const Error&) {
      throw Error(file.string() + ":" + std::to_string(number) + ": expected question<TAB>answer or question=answer");
    }
  }
  return turns;
}

}  // namespace capbench
