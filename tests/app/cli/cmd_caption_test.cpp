// `capbench caption` end to end, as a user runs it: the fixture image files
// through the real plugins (image processor, blip2-vision, qformer, opt / t5,
// search) give transformers' ids and beam scores for the generate cases of
// blip2-opt-tiny and blip2-t5-tiny (references.json and generate_extra.json).
#include <doctest/doctest.h>

#include <set>

#include "core/checkpoint.h"
#include "core/json_file.h"
#include "core/tokenizer.h"
#include "tests/app/cli/cli_test_support.h"
#include "tests/plugins/hf_generate_kwargs.h"

using namespace capbench;
using namespace capbench::testing;

namespace {

// The image files every reference was computed from, in the references' order.
std::vector<std::string> reference_images(const std::string& folder) {
  std::vector<std::string> files;
  const nlohmann::json references = read_json_file(fixture(folder + "/references.json"));
  for (const auto& name : references["images"]) files.push_back(fixture("images/" + name.get<std::string>()).string());
  return files;
}

std::string number(double value) { return nlohmann::json(value).dump(); }

// The command line flags of `options` (the README's table, flag by flag).
std::vector<std::string> flags(const GenerationOptions& o) {
  std::vector<std::string> out = {"--max-new-tokens",     std::to_string(o.max_new_tokens),
                                  "--min-new-tokens",     std::to_string(o.min_new_tokens),
                                  "--num-beams",          std::to_string(o.num_beams),
                                  "--length-penalty",     number(o.length_penalty),
                                  "--early-stopping",     o.early_stopping,
                                  "--repetition-penalty", number(o.repetition_penalty),
                                  "--no-repeat-ngram-size", std::to_string(o.no_repeat_ngram_size),
                                  "--num-captions",       std::to_string(o.num_captions)};
  if (o.do_sample)
    out.insert(out.end(), {"--sample", "--top-p", number(o.top_p), "--top-k", std::to_string(o.top_k), "--temperature",
                           number(o.temperature), "--seed", std::to_string(o.seed)});
  return out;
}

// What transformers returned for one image: its rows of ids (padded) and, for
// beam search, their scores.
struct Expected {
  std::vector<std::vector<int64_t>> rows;
  std::vector<double> scores;
};

// One `capbench caption --json` call on `images` with `prompt` (nullopt: none);
// checks the output's shape and each image's ids and scores against `expected`.
void check_call(const std::string& folder, const std::vector<std::string>& images,
                const std::optional<std::string>& prompt, const GenerationOptions& options,
                const std::vector<Expected>& expected) {
  std::vector<std::string> args = {"caption", "--model", fixture(folder).string(), "--json", "--batch-size", "2"};
  for (const std::string& f : flags(options)) args.push_back(f);
  if (prompt) args.insert(args.end(), {"--prompt", *prompt});
  args.insert(args.end(), images.begin(), images.end());
  CAPTURE(args);
  const CliResult r = capbench_cli(args);
  CAPTURE(r.err);
  REQUIRE(r.status == 0);
  const nlohmann::json out = r.json();
  REQUIRE(out.is_array());
  REQUIRE(out.size() == images.size());
  const int64_t pad = read_json_file(fixture(folder + "/generation_config.json"))["pad_token_id"].get<int64_t>();
  for (size_t i = 0; i < images.size(); ++i) {
    CAPTURE(i);
    const nlohmann::json& item = out[i];
    CHECK(keys_of(item) == std::set<std::string>{"image", "captions", "ids", "scores"});
    CHECK(item["image"] == images[i]);
    const size_t n = expected[i].rows.size();
    REQUIRE(item["captions"].size() == n);
    REQUIRE(item["ids"].size() == n);
    REQUIRE(item["scores"].size() == n);
    for (size_t k = 0; k < n; ++k) {
      CHECK(item["captions"][k].is_string());
      CHECK(item["scores"][k].is_number());
      std::vector<int64_t> ids = item["ids"][k].get<std::vector<int64_t>>();
      const std::vector<int64_t>& want = expected[i].rows[k];
      CAPTURE(ids);
      CAPTURE(want);
      REQUIRE(ids.size() <= want.size());
      ids.resize(want.size(), pad);  // transformers pads finished rows to the longest
      CHECK(ids == want);
      if (!expected[i].scores.empty()) CHECK(std::abs(item["scores"][k].get<double>() - expected[i].scores[k]) < 1e-4);
    }
  }
}

// Runs a case image by image, or all images in one call when they share the prompt.
void check_case(const std::string& folder, const std::vector<std::optional<std::string>>& prompts,
                const nlohmann::json& kwargs, std::optional<uint64_t> seed, const std::vector<Expected>& expected) {
  const auto tokenizer = load_tokenizer(fixture(folder));
  const bool decoder_only = read_json_file(fixture(folder + "/config.json"))["text_config"].value("model_type", "") == "opt";
  const std::vector<std::string> images = reference_images(folder);
  auto options_for = [&](const std::optional<std::string>& prompt) {
    const int64_t prompt_len = static_cast<int64_t>(tokenizer->encode(prompt.value_or(""), true).size());
    GenerationOptions o = options_from_hf_kwargs(kwargs, decoder_only, prompt_len);
    if (seed) o.seed = *seed;
    return o;
  };
  if (std::all_of(prompts.begin(), prompts.end(), [&](const auto& p) { return p == prompts[0]; })) {
    check_call(folder, images, prompts[0], options_for(prompts[0]), expected);
    return;
  }
  for (size_t i = 0; i < images.size(); ++i)
    check_call(folder, {images[i]}, prompts[i], options_for(prompts[i]), {expected[i]});
}

// The prompt text of each image of a references.json case: the fixture's prompt
// whose ids are the row's input_ids without padding (nullopt: no input_ids).
std::vector<std::optional<std::string>> case_prompts(const std::string& folder, const std::string& name,
                                                     const nlohmann::json& info, size_t images) {
  if (!info.value("prompt", false)) return std::vector<std::optional<std::string>>(images);
  const auto tokenizer = load_tokenizer(fixture(folder));
  const Checkpoint refs = Checkpoint::open(fixture(folder + "/references.safetensors"));
  const at::Tensor ids = refs.view("gen." + name + ".input_ids"), mask = refs.view("gen." + name + ".attention_mask");
  std::vector<std::string> candidates = {""};
  const nlohmann::json references = read_json_file(fixture(folder + "/references.json"));
  for (const auto& p : references["prompts"]) candidates.push_back(p);
  std::vector<std::optional<std::string>> out;
  for (size_t i = 0; i < images; ++i) {
    std::vector<int64_t> row;
    for (int64_t t = 0; t < ids.size(1); ++t)
      if (mask[i][t].item<int64_t>()) row.push_back(ids[i][t].item<int64_t>());
    std::optional<std::string> found;
    for (const std::string& c : candidates)
      if (tokenizer->encode(c, true) == row) found = c;
    REQUIRE_MESSAGE(found, "no fixture prompt gives the input_ids of " << name);
    out.push_back(found);
  }
  return out;
}

// Every generate case of references.json; returns how many were checked.
int check_reference_cases(const std::string& folder) {
  const nlohmann::json cases = read_json_file(fixture(folder + "/references.json"))["generate_cases"];
  const Checkpoint refs = Checkpoint::open(fixture(folder + "/references.safetensors"));
  const size_t images = reference_images(folder).size();
  int checked = 0;
  for (const auto& [name, info] : cases.items()) {
    CAPTURE(name);
    // One generate() over both images drawing from one random stream: `caption`
    // samples each image alone (as generate_extra's sampled cases do), so this
    // batch case is checked by tests/plugins/opt_generate_test.cpp instead.
    if (info["kwargs"].value("do_sample", false)) continue;
    const at::Tensor sequences = refs.view("gen." + name + ".sequences");
    const size_t per_image = static_cast<size_t>(sequences.size(0)) / images;
    std::vector<Expected> expected(images);
    for (size_t i = 0; i < images; ++i)
      for (size_t k = 0; k < per_image; ++k) {
        const at::Tensor row = sequences[static_cast<int64_t>(i * per_image + k)].contiguous();
        expected[i].rows.emplace_back(row.data_ptr<int64_t>(), row.data_ptr<int64_t>() + row.numel());
        if (refs.contains("gen." + name + ".sequences_scores"))
          expected[i].scores.push_back(
              refs.view("gen." + name + ".sequences_scores")[static_cast<int64_t>(i * per_image + k)].item<double>());
      }
    check_case(folder, case_prompts(folder, name, info, images), info["kwargs"], std::nullopt, expected);
    ++checked;
  }
  return checked;
}

// Every case of generate_extra.json (each image run alone in transformers).
int check_extra_cases(const std::string& folder) {
  const nlohmann::json cases = read_json_file(fixture("generate_extra.json"))[folder];
  int checked = 0;
  for (const auto& [name, info] : cases.items()) {
    CAPTURE(name);
    std::vector<Expected> expected;
    for (const auto& rows : info["sequences"]) expected.push_back({rows.get<std::vector<std::vector<int64_t>>>(), {}});
    std::optional<std::string> prompt;
    if (!info["prompt"].is_null()) prompt = info["prompt"].get<std::string>();
    std::optional<uint64_t> seed;
    if (!info["seed"].is_null()) seed = info["seed"].get<uint64_t>();
    check_case(folder, std::vector<std::optional<std::string>>(expected.size(), prompt), info["kwargs"], seed, expected);
    ++checked;
  }
  return checked;
}

}  // namespace

TEST_CASE("caption, OPT: every greedy and beam case of blip2-opt-tiny from the image files") {
  CHECK(check_reference_cases("blip2-opt-tiny") == 13);  // 14 cases, one of them a batch sampled together
}

TEST_CASE("caption, OPT: every case of generate_extra.json, seeded sampling and beam sample included") {
  CHECK(check_extra_cases("blip2-opt-tiny") == 10);
}

TEST_CASE("caption, T5: every greedy and beam case of blip2-t5-tiny from the image files") {
  CHECK(check_reference_cases("blip2-t5-tiny") == 11);
}

TEST_CASE("caption, T5: every case of generate_extra.json, seeded sampling and beam sample included") {
  CHECK(check_extra_cases("blip2-t5-tiny") == 8);
}

TEST_CASE("caption without --json prints one line per caption: the image, a tab, the caption") {
  const std::vector<std::string> images = reference_images("blip2-opt-tiny");
  const CliResult r = capbench_cli({"caption", "--model", fixture("blip2-opt-tiny").string(), "--num-beams", "3",
                                    "--num-captions", "2", "--max-new-tokens", "5", images[0], images[1]});
  REQUIRE(r.status == 0);
  std::vector<std::string> lines;
  for (size_t begin = 0; begin < r.out.size();) {
    const size_t end = r.out.find('\n', begin);
    REQUIRE(end != std::string::npos);
    lines.push_back(r.out.substr(begin, end - begin));
    begin = end + 1;
  }
  REQUIRE(lines.size() == 4);
  for (size_t i = 0; i < 4; ++i) CHECK(lines[i].rfind(images[i / 2] + "\t", 0) == 0);
}

TEST_CASE("caption: bad arguments and bad images end with one line") {
  const std::string model = fixture("blip2-opt-tiny").string();
  const std::string image = reference_images("blip2-opt-tiny")[0];
  check_usage_error(capbench_cli({"caption", "--model", model}), "caption", "give image files or --pixel-values FILE");
  check_usage_error(capbench_cli({"caption", "--model", model, "--num-beams", "two", image}), "caption",
                    "--num-beams");
  check_one_line_error(capbench_cli({"caption", "--model", model, "--num-beams", "2", "--num-captions", "3", image}),
                       "num_captions (3) must not exceed num_beams (2)");
  check_one_line_error(capbench_cli({"caption", "--model", model, "--early-stopping", "sometimes", image}),
                       "early_stopping must be true, false or never");
  TempDir dir;
  write_text(dir / "notes.png", "not an image");
  check_one_line_error(capbench_cli({"caption", "--model", model, (dir / "notes.png").string()}),
                       (dir / "notes.png").string() + ": cannot decode image");
  check_one_line_error(capbench_cli({"caption", "--model", (dir / "nothing").string(), image}),
                       (dir / "nothing").string());
}

TEST_CASE("caption --help says what --seed means") {
  const CliResult r = capbench_cli({"caption", "--help"});
  REQUIRE(r.status == 0);
  CHECK(r.out.find("--seed") != std::string::npos);
  CHECK(r.out.find("torch.manual_seed(N)") != std::string::npos);
}
