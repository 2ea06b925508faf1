// Prompt templates: plain, instructed VQA, multi-turn context (BLIP-2 / LAVIS).
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "core/prompt.h"
#include "tests/test_support.h"

using namespace capbench;

TEST_CASE("instructed VQA and multi-turn context prompts") {
  CHECK(vqa_prompt("which city is this?") == "Question: which city is this? Answer:");
  CHECK(context_prompt({}, "which city is this?") == "Question: which city is this? Answer:");
  CHECK(context_prompt({{"what is it?", "a tower"}, {"how tall?", "very"}}, "which city is this?") ==
        "Question: what is it? Answer: a tower. Question: how tall? Answer: very. Question: which city is this? Answer:");
}

TEST_CASE("context turns from flags and files") {
  QaTurn turn = parse_turn("what is it?=a tower");
  CHECK(turn.question == "what is it?");
  CHECK(turn.answer == "a tower");
  CHECK_THROWS_WITH_AS(parse_turn("no answer"), doctest::Contains("question=answer"), Error);

  const capbench::testing::TempDir dir;
  const auto file = dir / "context.txt";
  std::ofstream(file) << "what is it?\ta tower\n\nhow tall?=very\r\n";
  const auto turns = read_context_file(file);
  REQUIRE(turns.size() == 2);
  CHECK(turns[0].answer == "a tower");
  CHECK(turns[1].question == "how tall?");
  CHECK(turns[1].answer == "very");
  std::ofstream(file) << "just text\n";
  CHECK_THROWS_WITH_AS(read_context_file(file), doctest::Contains(":1:"), Error);
}
