#pragma once
// Stand-ins for models in the runner tests: cheap, deterministic, and counting
// how often the runner makes and uses them.
#include <ATen/ATen.h>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <thread>

#include "app/experiment/run_id.h"
#include "app/runner/components.h"
#include "core/image/image_error.h"

namespace runner_fakes {

struct Counters {
  int image_sides = 0, caption_sides = 0, image_batches = 0, caption_batches = 0;
};

// One number per image (from its file name) and per image-side checkpoint. An
// image file that exists and starts with "broken" fails as a damaged file does.
class FakeImageSide : public capbench::ImageSide {
 public:
  FakeImageSide(Counters& c, std::string checkpoint) : c_(c), checkpoint_(std::move(checkpoint)) {}
  at::Tensor soft_prompts(const std::vector<std::filesystem::path>& images) override {
    ++c_.image_batches;
    for (const auto& image : images) {
      std::ifstream file(image);
      std::string start(6, '\0');
      if (file && file.read(start.data(), 6) && start == "broken")
        throw capbench::ImageError(image, "cannot decode image (fake)");
    }
    at::Tensor out = at::zeros({static_cast<int64_t>(images.size()), 2, 4});
    for (size_t i = 0; i < images.size(); ++i)
      out[static_cast<int64_t>(i)].fill_(static_cast<double>(capbench::fnv1a64(checkpoint_ + images[i].string()) % 1000));
    return out;
  }

 private:
  Counters& c_;
  std::string checkpoint_;
};

// Captions that spell out what made them: decoder, beams, prompt, image number,
// and for sampling the seed.
class FakeCaptionSide : public capbench::CaptionSide {
 public:
  FakeCaptionSide(Counters& c, std::string plugin, int sleep_ms) : c_(c), plugin_(std::move(plugin)), sleep_ms_(sleep_ms) {}
  std::vector<std::vector<capbench::Caption>> captions(const at::Tensor& soft_prompt,
                                                       const capbench::GenerationOptions& o) override {
    ++c_.caption_batches;
    if (sleep_ms_) std::this_thread::sleep_for(std::chrono::milliseconds(sleep_ms_));
    std::vector<std::vector<capbench::Caption>> out;
    for (int64_t i = 0; i < soft_prompt.size(0); ++i) {
      auto image = static_cast<int64_t>(soft_prompt[i][0][0].item<double>());
      std::vector<capbench::Caption> captions;
      for (int64_t k = 0; k < o.num_captions; ++k) {
        std::string text = (o.prompt.empty() ? "" : o.prompt + " ") + "object " + std::to_string(image % 7) + " by " +
                           plugin_ + " beams " + std::to_string(o.num_beams);
        if (o.do_sample) text += " seed " + std::to_string(o.seed % 1000);
        if (k) text += " alt " + std::to_string(k);
        captions.push_back({text, {2, image, k}, -0.5 * static_cast<double>(k + 1)});
      }
      out.push_back(captions);
    }
    return out;
  }

 private:
  Counters& c_;
  std::string plugin_;
  int sleep_ms_;
};

class FakeComponents : public capbench::ComponentFactory {
 public:
  explicit FakeComponents(int sleep_ms = 0) : sleep_ms_(sleep_ms) {}
  std::unique_ptr<capbench::ImageSide> image_side(const capbench::RunSpec& run) override {
    ++counters.image_sides;
    return std::make_unique<FakeImageSide>(counters, run.encoder.checkpoint.filename().string());
  }
  std::unique_ptr<capbench::CaptionSide> caption_side(const capbench::RunSpec& run) override {
    ++counters.caption_sides;
    return std::make_unique<FakeCaptionSide>(counters, run.decoder.plugin, sleep_ms_);
  }
  Counters counters;

 private:
  int sleep_ms_;
};

// Unit vectors from the words of a text: similar texts, similar vectors.
class FakeEmbedder : public capbench::SentenceEmbedder {
 public:
  at::Tensor embed(const std::vector<std::string>& texts) override {
    at::Tensor out = at::zeros({static_cast<int64_t>(texts.size()), dimension()});
    for (size_t i = 0; i < texts.size(); ++i) {
      std::string word;
      for (char ch : texts[i] + " ") {
        if (ch != ' ') {
          word += ch;
          continue;
        }
        if (!word.empty()) out[static_cast<int64_t>(i)][static_cast<int64_t>(capbench::fnv1a64(word) % 16)] += 1.0;
        word.clear();
      }
    }
    return out / out.norm(2, {1}, true).clamp_min(1e-12);
  }
  int64_t dimension() const override { return 16; }
};

}  // namespace runner_fakes
