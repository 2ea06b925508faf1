#pragma once
// A small results database for the report's tests: four runs (one with three
// captions per image, one captioned but not scored yet, one with no images at
// all) over three images whose texts need escaping or are not ASCII.
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "app/results_store.h"
#include "tests/test_support.h"

namespace capbench::testing {

// Texts that must reach the page escaped, and one that must reach it unchanged.
inline const std::string kTrickyCaption = "<script>alert(\"x\")</script> & 'quoted'";
inline const std::string kTrickyPrompt = "a <b>photo</b> & \"more\"";
inline const std::string kUnicodeReference = "caf\u00e9 \u2014 \u6771\u4eac \U0001F680 na\u00efve";

inline StoredRun sample_run(const std::string& id, int64_t position, int beams, const std::string& prompt) {
  nlohmann::json differing = {{"generate.num_beams", beams}, {"generate.prompt", prompt}};
  nlohmann::json component = {{"plugin", "opt"}, {"checkpoint", "../models/blip2"}, {"device", "auto"}, {"dtype", "auto"}};
  nlohmann::json settings = {{"dataset", {{"kind", "sdip"}, {"root", "data"}}},
                             {"encoder", component},
                             {"bridge", component},
                             {"decoder", component},
                             {"generate", differing}};
  return {id, position, "num_beams=" + std::to_string(beams) + " prompt=" + nlohmann::json(prompt).dump(), "",
          settings.dump(), differing.dump()};
}

// Runs, best first by cosine: bbbb (0.6 mean), aaaa (0.4), cccc (no scores), dddd (no images).
inline void write_sample_results(const std::filesystem::path& file, const std::filesystem::path& readable_image = "") {
  ResultsStore store(file);
  store.set_meta("experiment", "sample <sweep>");
  store.set_meta("metrics", "[\"cosine\",\"bleu4\"]");
  store.set_meta("auto_device", "cpu");
  store.set_meta("run_date", "2024-05-01 12:00 UTC");
  store.set_meta("capbench_version", "0.1.0");
  store.put_run(sample_run("aaaaaaaaaaaa", 0, 1, ""));
  store.put_run(sample_run("bbbbbbbbbbbb", 1, 3, ""));
  store.put_run(sample_run("cccccccccccc", 2, 1, kTrickyPrompt));
  store.put_run(sample_run("dddddddddddd", 3, 3, kTrickyPrompt));
  store.put_image({"one", readable_image.empty() ? "missing/one.png" : readable_image.string(), {"a \"red\" <fox> & 'dog'"}});
  store.put_image({"two", "missing/two.png", {kUnicodeReference, "a second reference"}});
  store.put_image({"three", "missing/three.png", {}});
  const char* images[] = {"one", "two", "three"};
  const double a_scores[] = {0.5, 0.3, 0.4}, b_scores[] = {0.9, 0.5, 0.4};
  for (int i = 0; i < 3; ++i) {
    store.put_prediction({"aaaaaaaaaaaa", images[i], 0, i == 0 ? kTrickyCaption : "a caption of " + std::string(images[i]), {}, -1, 0.5});
    for (int rank = 0; rank < 3; ++rank)
      store.put_prediction({"bbbbbbbbbbbb", images[i], rank, "beam " + std::to_string(rank) + " of " + images[i], {}, -1, 1.0});
    if (i < 2) store.put_prediction({"cccccccccccc", images[i], 0, "unscored caption " + std::string(images[i]), {}, -1, 0.25});
    store.put_score({"aaaaaaaaaaaa", images[i], "cosine", a_scores[i]});
    store.put_score({"bbbbbbbbbbbb", images[i], "cosine", b_scores[i]});
    store.put_score({"aaaaaaaaaaaa", images[i], "bleu4", 0.1});
    store.put_score({"bbbbbbbbbbbb", images[i], "bleu4", 0.2});
  }
  store.put_run_metric({"aaaaaaaaaaaa", "cosine", 0.4, 3});
  store.put_run_metric({"bbbbbbbbbbbb", "cosine", 0.6, 3});
  store.put_run_metric({"aaaaaaaaaaaa", "bleu4", 0.05, 3});  // a corpus value: not the mean of the per-image ones
  store.put_run_metric({"bbbbbbbbbbbb", "bleu4", 0.15, 3});
}

}  // namespace capbench::testing
