#pragma once
// A results database with five runs that exercise every ranking rule (scored
// by cosine and bleu4 over two images):
//   r1  complete    cosine 0.5  bleu4 0.2
//   r2  complete    cosine 0.7  bleu4 0.1
//   r3  incomplete  cosine 0.7 (the mean of its one per-image score), no bleu4
//   r4  complete    cosine 0.5  bleu4 0.3  exact 1 (a metric the experiment did not list)
//   r5  complete    nothing scored
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "app/results_store.h"
#include "tests/test_support.h"

namespace capbench::testing {

inline void write_ranking_fixture(ResultsStore& store, const std::vector<std::string>& metrics = {"cosine", "bleu4"}) {
  store.set_meta("metrics", nlohmann::json(metrics).dump());
  for (const char* image : {"a", "b"}) store.put_image({image, std::string(image) + ".png", {"a reference"}});
  const std::vector<std::string> runs = {"r1", "r2", "r3", "r4", "r5"};
  for (size_t i = 0; i < runs.size(); ++i) {
    const nlohmann::json differing = {{"generate.num_beams", i + 1}};
    store.put_run({runs[i], static_cast<int64_t>(i), "num_beams=" + std::to_string(i + 1), "", "{}", differing.dump()});
  }
  auto caption = [&](const std::string& run, const std::string& image) {
    store.put_prediction({run, image, 0, "a caption", {2, 7}, -0.5, 0.25});
  };
  for (const char* run : {"r1", "r2", "r4", "r5"})
    for (const char* image : {"a", "b"}) caption(run, image);
  caption("r3", "a");
  store.put_score({"r3", "a", "cosine", 0.7});
  auto metric = [&](const std::string& run, const std::string& name, double value) {
    store.put_run_metric({run, name, value, 2});
  };
  metric("r1", "cosine", 0.5);
  metric("r1", "bleu4", 0.2);
  metric("r2", "cosine", 0.7);
  metric("r2", "bleu4", 0.1);
  metric("r4", "cosine", 0.5);
  metric("r4", "bleu4", 0.3);
  metric("r4", "exact", 1.0);
}

}  // namespace capbench::testing
