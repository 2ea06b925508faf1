// BLEU, ROUGE-L and CIDEr-D against what pycocoevalcap computed
// (tests/fixtures/metrics/references.json; inputs already tokenised).
#include <doctest/doctest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "metrics/bleu.h"
#include "metrics/cider.h"
#include "metrics/metrics.h"
#include "metrics/ngrams.h"
#include "metrics/ptb_tokenize.h"
#include "metrics/rouge.h"
#include "tests/test_support.h"

namespace {

nlohmann::ordered_json reference_cases() {
  std::ifstream in(capbench::testing::fixture("metrics/references.json"));
  REQUIRE(in);
  return nlohmann::ordered_json::parse(in)["cases"];
}

struct CaseInputs {
  std::vector<std::string> ids, predictions;
  std::vector<std::vector<std::string>> references;
};

CaseInputs inputs_of(const nlohmann::ordered_json& c) {
  CaseInputs in;
  for (const auto& id : c["image_order"]) {
    const std::string key = id.get<std::string>();
    in.ids.push_back(key);
    in.predictions.push_back(c["res"][key][0].get<std::string>());
    in.references.push_back(c["gts"][key].get<std::vector<std::string>>());
  }
  return in;
}

constexpr double kTolerance = 1e-9;

void check_metric(const nlohmann::ordered_json& c, const CaseInputs& in, const std::string& name, double corpus,
                  const std::vector<double>& per_image) {
  INFO("case " << c["name"].get<std::string>() << ", " << name);
  CHECK(std::abs(corpus - c["scores"][name].get<double>()) <= kTolerance);
  REQUIRE(per_image.size() == in.ids.size());
  for (size_t i = 0; i < in.ids.size(); ++i) {
    INFO("image " << in.ids[i]);
    CHECK(std::abs(per_image[i] - c["per_image"][name][in.ids[i]].get<double>()) <= kTolerance);
  }
}

}  // namespace

TEST_CASE("BLEU-1..4, ROUGE-L and CIDEr-D equal pycocoevalcap's, corpus and per image") {
  const auto cases = reference_cases();
  REQUIRE(cases.size() >= 4);
  for (const auto& c : cases) {
    const CaseInputs in = inputs_of(c);
    const capbench::BleuScores bleu = capbench::bleu_scores(in.predictions, in.references);
    for (size_t n = 0; n < 4; ++n)
      check_metric(c, in, "Bleu_" + std::to_string(n + 1), bleu.corpus[n], bleu.per_image[n]);
    const capbench::RougeScores rouge = capbench::rouge_l_scores(in.predictions, in.references);
    check_metric(c, in, "ROUGE_L", rouge.corpus, rouge.per_image);
    const capbench::CiderScores cider = capbench::cider_d_scores(in.predictions, in.references);
    check_metric(c, in, "CIDEr", cider.corpus, cider.per_image);
  }
}

TEST_CASE("compute_metrics gives the same numbers through its names (PTB text is unchanged by tokenising)") {
  const auto cases = reference_cases();
  const auto& c = cases[0];
  const CaseInputs in = inputs_of(c);
  const auto scores = capbench::compute_metrics({"bleu1", "bleu4", "rouge_l", "cider", "exact_match"}, in.predictions,
                                                in.references, nullptr);
  REQUIRE(scores.size() == 5);
  check_metric(c, in, "Bleu_1", scores[0].corpus, scores[0].per_image);
  check_metric(c, in, "Bleu_4", scores[1].corpus, scores[1].per_image);
  check_metric(c, in, "ROUGE_L", scores[2].corpus, scores[2].per_image);
  check_metric(c, in, "CIDEr", scores[3].corpus, scores[3].per_image);
  CHECK(scores[4].metric == "exact_match");
}

TEST_CASE("exact match ignores case, punctuation and spacing") {
  const auto scores = capbench::compute_metrics({"exact_match"}, {"A dog, running!", "a cat"},
                                                {{"a  dog running", "other"}, {"a dog"}}, nullptr);
  CHECK((scores[0].per_image == std::vector<double>{1.0, 0.0}));
  CHECK(scores[0].corpus == doctest::Approx(0.5));
}

TEST_CASE("unknown metrics, cosine without an embedder and mismatched inputs are errors") {
  CHECK_THROWS_WITH_AS(capbench::compute_metrics({"meteor"}, {"a"}, {{"a"}}, nullptr), doctest::Contains("known: cosine"),
                       capbench::Error);
  CHECK_THROWS_WITH_AS(capbench::compute_metrics({"cosine"}, {"a"}, {{"a"}}, nullptr),
                       doctest::Contains("sentence embedder"), capbench::Error);
  CHECK_THROWS_AS(capbench::compute_metrics({"bleu4"}, {"a", "b"}, {{"a"}}, nullptr), capbench::Error);
  CHECK_THROWS_AS(capbench::compute_metrics({"bleu4"}, {"a"}, {{}}, nullptr), capbench::Error);
}

TEST_CASE("numpy_mean sums pairwise as numpy does") {
  std::vector<double> values;
  for (int i = 0; i < 300; ++i) values.push_back(1.0 / (i + 1));
  double sequential = 0;
  for (double v : values) sequential += v;
  CHECK(capbench::numpy_mean(values) == doctest::Approx(sequential / 300).epsilon(1e-14));
  CHECK(capbench::numpy_mean({2.0, 4.0}) == 3.0);
}
using capbench::ptb_tokenize;

TEST_CASE("lower-cases and drops PTB punctuation tokens") {
  CHECK(ptb_tokenize("A man riding a horse.") == "a man riding a horse");
  CHECK(ptb_tokenize("Hello, world! Really?  Yes; ok: fine...") == "hello world really yes ok fine");
  CHECK(ptb_tokenize("\"Quoted\" (bracketed) [x] {y} `tick' -- dash - hyphen") ==
        "quoted bracketed x y tick dash hyphen");
  CHECK(ptb_tokenize("...!!!") == "");
  CHECK(ptb_tokenize("") == "");
}

TEST_CASE("splits clitics as PTB does") {
  CHECK(ptb_tokenize("A man's hat") == "a man 's hat");
  CHECK(ptb_tokenize("It isn't, can't, won't") == "it is n't ca n't wo n't");
  CHECK(ptb_tokenize("They're here, we've gone, I'll go, he'd say, I'm in") ==
        "they 're here we 've gone i 'll go he 'd say i 'm in");
  CHECK(ptb_tokenize("I cannot") == "i can not");
  CHECK(ptb_tokenize("The dogs' bowls") == "the dogs bowls");
  CHECK(ptb_tokenize("It\xE2\x80\x99s curly") == "it 's curly");
}

TEST_CASE("keeps numbers, abbreviations and hyphenated words whole") {
  CHECK(ptb_tokenize("1,000 people at 3:30 paid $5.50 or 50%") == "1,000 people at 3:30 paid $ 5.50 or 50 %");
  CHECK(ptb_tokenize("Mr. Smith in the U.S. today.") == "mr. smith in the u.s. today");
  CHECK(ptb_tokenize("A black-and-white photo") == "a black-and-white photo");
  CHECK(ptb_tokenize("An 8K, ultra-detailed render, by Greg Rutkowski") == "an 8k ultra-detailed render by greg rutkowski");
}

TEST_CASE("line breaks and tabs are spaces; non-ASCII letters are lower-cased") {
  CHECK(ptb_tokenize("Two\nlines\tand TABS") == "two lines and tabs");
  CHECK(ptb_tokenize("CAF\xC3\x89 \xC3\x9C" "BER") == "caf\xC3\xA9 \xC3\xBC" "ber");
}
