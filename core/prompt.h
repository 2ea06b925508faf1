#pragma once
// Text prompts for BLIP-2: a plain prefix ("a photo of"), instructed zero-shot
// VQA ("Question: which city is this? Answer:") and multi-turn context built from
// earlier (question, answer) pairs, as in the BLIP-2 paper and LAVIS.
#include <filesystem>
#include <string>
#include <vector>

namespace capbench {

struct QaTurn {
  std::string question;
  std::string answer;
};

// "Question: {question} Answer:"
std::string vqa_prompt(const std::string& question);

// Each earlier turn as "Question: {q} Answer: {a}." joined by spaces, then
// " Question: {question} Answer:". Without turns: vqa_prompt(question).
std::string context_prompt(const std::vector<QaTurn>& turns, const std::string& question);

// "question=answer" (split at the first '='); throws Error without one.
QaTurn parse_turn(const std::string& text);

// One turn per non-empty line: "question<TAB>answer", or "question=answer"
// when the line has no tab. Throws Error naming the file and line.
std::vector<QaTurn> read_context_file(const std::filesystem::path& file);

}  // namespace capbench
