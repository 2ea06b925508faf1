// report_bench [IMAGES [RUNS [FOLDER]]]: the time to write `capbench report`'s
// page and its size, on a synthetic sweep (default 1,000 images x 6 runs in
// report-bench/ beside the program; run from the repository root, which has
// the demo's photographs). The images are 512 x 512 PNGs cut from the demo's
// photographs (random crops, flips and colour shifts, so that they compress
// like photographs, not like noise); the runs are a beams x prompt grid with
// 10-20-word captions, three captions per image in the beam-5 runs, and
// per-image cosine scores. Images and database are made once and reused.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "app/report/write_report.h"
#include "app/results_store.h"

namespace fs = std::filesystem;

namespace {

const char* const kWords[] = {"a",       "photo",  "of",      "the",    "cat",      "astronaut", "rocket", "cup",
                              "coffee",  "on",     "table",   "in",     "space",    "red",       "white",  "launch",
                              "portrait", "highly", "detailed", "digital", "painting", "cinematic", "light", "with",
                              "sitting", "orange", "tabby",   "suit",   "flag",     "smoke",     "sky",    "close-up"};

std::string random_caption(std::mt19937_64& rng) {
  std::uniform_int_distribution<int> length(10, 20), word(0, sizeof kWords / sizeof *kWords - 1);
  std::string text;
  for (int n = length(rng), i = 0; i < n; ++i) text += (i ? " " : "") + std::string(kWords[word(rng)]);
  return text;
}

// A 512 x 512 photograph-like image: a random crop of a demo photograph, maybe flipped, colours shifted.
void write_image(const fs::path& file, const std::vector<cv::Mat>& photos, std::mt19937_64& rng) {
  const cv::Mat& photo = photos[rng() % photos.size()];
  std::uniform_real_distribution<double> u(0, 1);
  const int side = static_cast<int>(std::min(photo.cols, photo.rows) * (0.5 + 0.5 * u(rng)));
  cv::Rect crop(static_cast<int>(u(rng) * (photo.cols - side)), static_cast<int>(u(rng) * (photo.rows - side)), side, side);
  cv::Mat image;
  cv::resize(photo(crop), image, cv::Size(512, 512), 0, 0, cv::INTER_AREA);
  if (rng() % 2) cv::flip(image, image, 1);
  image.convertTo(image, -1, 0.8 + 0.4 * u(rng), -20 + 40 * u(rng));
  cv::imwrite(file.string(), image);
}

void write_database(const fs::path& folder, int images, int runs) {
  std::mt19937_64 rng(7);
  std::vector<cv::Mat> photos;
  for (const char* name : {"astronaut.png", "chelsea.png", "coffee.png", "rocket.jpg"})
    photos.push_back(cv::imread((fs::path("experiments/demo/images") / name).string()));
  for (const cv::Mat& photo : photos)
    if (photo.empty()) throw std::runtime_error("experiments/demo/images: run report_bench from the repository root");
  fs::create_directories(folder / "images");
  capbench::ResultsStore store(folder / "results.sqlite");
  store.begin();
  store.set_meta("experiment", "report-bench");
  store.set_meta("metrics", "[\"cosine\"]");
  store.set_meta("auto_device", "cpu");
  const int beams[] = {1, 3, 5};
  const char* prompts[] = {"", "a photo of"};
  std::vector<std::string> run_ids;
  for (int r = 0; r < runs; ++r) {
    nlohmann::json differing = {{"generate.num_beams", beams[r / 2 % 3]}, {"generate.prompt", prompts[r % 2]}};
    nlohmann::json component = {{"plugin", "opt"}, {"checkpoint", "models/blip2-opt-2.7b"}, {"device", "auto"}, {"dtype", "auto"}};
    nlohmann::json settings = {{"dataset", {{"kind", "sdip"}, {"root", "data/sdip"}}}, {"encoder", component},
                               {"bridge", component}, {"decoder", component}, {"generate", differing}, {"run", r}};
    char id[16];
    std::snprintf(id, sizeof id, "%012x", 0xbe00 + r);
    run_ids.push_back(id);
    store.put_run({id, r, "num_beams=" + differing["generate.num_beams"].dump() + " prompt=" + differing["generate.prompt"].dump(),
                   "", settings.dump(), differing.dump()});
  }
  std::normal_distribution<double> noise(0, 0.12);
  for (int i = 0; i < images; ++i) {
    char id[16];
    std::snprintf(id, sizeof id, "img%05d", i);
    const fs::path file = folder / "images" / (std::string(id) + ".png");
    write_image(file, photos, rng);
    store.put_image({id, file.string(), {random_caption(rng) + " " + random_caption(rng)}});
    for (int r = 0; r < runs; ++r) {
      const int beam = beams[r / 2 % 3];
      for (int rank = 0; rank < (beam == 5 ? 3 : 1); ++rank)
        store.put_prediction({run_ids[r], id, rank, random_caption(rng), {}, -1, 0.05 * beam});
      store.put_score({run_ids[r], id, "cosine", std::clamp(0.45 + 0.02 * r + noise(rng), -1.0, 1.0)});
    }
  }
  for (int r = 0; r < runs; ++r) {
    double sum = 0;
    for (const auto& s : store.scores(run_ids[r])) sum += s.value;
    store.put_run_metric({run_ids[r], "cosine", sum / images, images});
  }
  store.commit();
}

}  // namespace

int main(int argc, char** argv) {
  const int images = argc > 1 ? std::stoi(argv[1]) : 1000;
  const int runs = argc > 2 ? std::stoi(argv[2]) : 6;
  const fs::path folder = argc > 3 ? fs::path(argv[3]) : fs::path(argv[0]).parent_path() / "report-bench";
  const fs::path database = folder / "results.sqlite";
  if (!fs::exists(database)) {
    const auto start = std::chrono::steady_clock::now();
    write_database(folder, images, runs);
    std::printf("report_bench: wrote %d images x %d runs to %s in %.1f s\n", images, runs, folder.c_str(),
                std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  capbench::ResultsStore store(database);
  const capbench::report::ReportWritten written = capbench::report::write_report(store, folder / "report.html");
  std::printf("report_bench: %zu images x %zu runs: %s, %.1f MiB (%.1f KiB per image), written in %.2f s\n",
              written.images, written.runs, (folder / "report.html").c_str(), written.bytes / 1048576.0,
              written.bytes / 1024.0 / static_cast<double>(std::max<size_t>(written.images, 1)), written.seconds);
  return 0;
}
