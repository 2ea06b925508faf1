#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <toml++/toml.h>

#include "app/experiment/experiment.h"
#include "core/error.h"
#include "core/settings.h"
#include "datasets/dataset.h"
#include "metrics/metrics.h"
#include "tests/test_support.h"

namespace fs = std::filesystem;
using capbench::Experiment;
using capbench::load_experiment;

namespace {

// A scratch folder per test case.
struct Scratch {
  capbench::testing::TempDir temp;
  fs::path dir = temp.path();
  explicit Scratch(const std::string& /*name*/) {}
  fs::path write(const std::string& name, const std::string& text) const {
    fs::path p = dir / name;
    fs::create_directories(p.parent_path());
    std::ofstream(p) << text;
    return p;
  }
};

const char* kBase = R"(name = "t"
dataset = { kind = "folder", root = "images" }
model = { checkpoint = "models/m" }
encoder = { plugin = "blip2-vision" }
bridge = { plugin = "qformer" }
decoder = { plugin = "opt" }
generate = { max_new_tokens = 20 }
)";

std::string error_of(const fs::path& file) {
  try {
    load_experiment(file, {{"cosine", "bleu4", "cider"}});
  } catch (const capbench::Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("a grid times variants expands to every combination, with stable ids") {
  Scratch s("grid");
  auto file = s.write("exp.toml", std::string(kBase) + R"(
[sweep]
"generate.num_beams" = [1, 3, 5]
"generate.prompt" = ["", "a photo of"]

[[variant]]
name = "opt"

[[variant]]
name = "t5"
"model.checkpoint" = "models/t5"
"decoder.plugin" = "t5"
)");
  Experiment e = load_experiment(file);
  CHECK(e.runs.size() == 12);
  std::set<std::string> ids;
  for (const auto& r : e.runs) ids.insert(r.id);
  CHECK(ids.size() == 12);
  CHECK(e.runs[0].id.size() == 12);
  // The first sweep key (in key order: num_beams) varies slowest.
  CHECK(e.runs[0].generate.num_beams == 1);
  CHECK(e.runs[0].generate.prompt == "");
  CHECK(e.runs[1].generate.prompt == "a photo of");
  CHECK(e.runs[2].generate.num_beams == 3);
  CHECK(e.runs[6].variant == "t5");
  CHECK(e.runs[6].decoder.plugin == "t5");
  CHECK(e.runs[6].decoder.checkpoint == (s.dir / "models/t5").lexically_normal());
  CHECK(e.runs[6].encoder.checkpoint == (s.dir / "models/t5").lexically_normal());
  CHECK(e.runs[0].encoder.checkpoint == (s.dir / "models/m").lexically_normal());
  CHECK(e.runs[3].label == "opt num_beams=3 prompt=\"a photo of\"");
  // Decoding settings share the image side; another checkpoint does not.
  CHECK(e.runs[0].image_side_key == e.runs[5].image_side_key);
  CHECK(e.runs[0].image_side_key != e.runs[6].image_side_key);

  // Ids depend only on resolved settings: same again, and unchanged by writing a default explicitly.
  CHECK(load_experiment(file).runs[4].id == e.runs[4].id);
  auto same = s.write("same.toml", std::string(kBase) + R"(
[generate]
max_new_tokens = 20
num_beams = 1
length_penalty = 1
[sweep]
"generate.prompt" = ["", "a photo of"]
)");
  // (generate given both inline and as a table is a TOML error; use a file without the inline one)
  auto plain = s.write("plain.toml", R"(name = "other-name"
dataset = { kind = "folder", root = "images", limit = 3 }
model = { checkpoint = "models/m" }
encoder = { plugin = "blip2-vision" }
bridge = { plugin = "qformer" }
decoder = { plugin = "opt" }
generate = { max_new_tokens = 20, num_beams = 1, length_penalty = 1, prompt = "a photo of" }
output = { dir = "elsewhere" }
)");
  CHECK(error_of(same).find("same.toml:") != std::string::npos);
  Experiment p = load_experiment(plain);
  REQUIRE(p.runs.size() == 1);
  CHECK(p.runs[0].id == e.runs[1].id);  // opt variant, num_beams 1, prompt "a photo of"
  CHECK(p.runs[0].label == "base");
}

TEST_CASE("extends merges tables key by key and resolves paths against each file") {
  Scratch s("extends");
  s.write("base/base.toml", std::string(kBase) + R"(
scorer = { checkpoint = "minilm", metrics = ["cosine", "cider"] }
[[variant]]
name = "from-base"
)");
  auto file = s.write("child.toml", R"(extends = "base/base.toml"
name = "child"
generate = { num_beams = 3 }
[sweep]
"generate.max_new_tokens" = [5, 10]
)");
  Experiment e = load_experiment(file, {{"cosine", "cider"}});
  CHECK(e.name == "child");
  REQUIRE(e.runs.size() == 2);
  CHECK(e.runs[0].variant == "from-base");
  CHECK(e.runs[0].generate.num_beams == 3);
  CHECK(e.runs[1].generate.max_new_tokens == 10);
  CHECK(e.runs[0].decoder.checkpoint == (s.dir / "base/models/m").lexically_normal());
  CHECK(e.scorer.enabled);
  CHECK(e.scorer.component.plugin == "minilm");
  CHECK(e.scorer.component.checkpoint == (s.dir / "base/minilm").lexically_normal());
  CHECK(e.scorer.metrics == std::vector<std::string>{"cosine", "cider"});
  CHECK(e.output.dir == (s.dir / "runs/child").lexically_normal());
  CHECK(e.runs[0].label == "from-base max_new_tokens=5");

  s.write("loop-a.toml", "extends = \"loop-b.toml\"\n");
  auto loop = s.write("loop-b.toml", "extends = \"loop-a.toml\"\n");
  CHECK(error_of(loop).find("cycle") != std::string::npos);
}

TEST_CASE("plugin keys go to the component's Settings with their positions") {
  Scratch s("plugin-keys");
  auto file = s.write("exp.toml", std::string(kBase) + R"(
[sweep]
"decoder.attention" = ["sdpa", "eager"]
)");
  Experiment e = load_experiment(file);
  REQUIRE(e.runs.size() == 2);
  CHECK(e.runs[0].image_side_key == e.runs[1].image_side_key);
  CHECK(e.runs[0].label == "decoder.attention=\"sdpa\"");
  capbench::Settings settings(*e.runs[0].decoder.settings, e.runs[0].decoder.where);
  CHECK(settings.has("attention"));
  try {
    settings.check_all_used();
    FAIL("an unread plugin key must be reported");
  } catch (const capbench::Error& err) {
    std::string m = err.what();
    CHECK(m.find("exp.toml:10:") != std::string::npos);
    CHECK(m.find("attention") != std::string::npos);
  }
}

TEST_CASE("mistakes are reported with file:line:column and the dotted key") {
  Scratch s("errors");
  struct Case {
    std::string text;
    std::string expected_position;
    std::string expected_key;
  };
  const std::vector<Case> cases = {
      {"generate = { num_beems = 3 }", "bad.toml:8:26", "'generate.num_beems' is unknown"},
      {"generate = { num_beams = \"3\" }", "bad.toml:8:26", "'generate.num_beams' must be an integer"},
      {"generate = { num_beams = 0 }", "bad.toml:8:26", "'generate.num_beams' must be >= 1"},
      {"generate = { top_p = 1.5 }", "bad.toml:8:22", "'generate.top_p' must be in (0, 1]"},
      {"generate = { num_captions = 2 }", "bad.toml:8:29", "'generate.num_captions' must not exceed num_beams (1)"},
      {"generate = { num_beams = 2, do_sample = true, num_captions = 3 }", "bad.toml:8:62",
       "'generate.num_captions' must not exceed num_beams (2)"},
      {"generate = { early_stopping = \"sometimes\" }", "bad.toml:8:31", "'generate.early_stopping'"},
      {"colour = \"blue\"", "bad.toml:8:10", "'colour' is unknown"},
      {"device = \"gpu\"", "bad.toml:8:10", "'device' must be"},
      {"output = { dir = \"x\", submision = true }", "bad.toml:8:35", "'output.submision' is unknown"},
      {"scorer = { checkpoint = \"m\", metrics = [\"cosine\", \"meteor\"] }", "bad.toml:8:51",
       "'scorer.metrics' names an unknown metric 'meteor'"},
      {"[sweep]\n\"generate.num_beams\" = [1, -2]", "bad.toml:9:28", "'generate.num_beams' must be >= 1"},
      {"[sweep]\n\"generate.num_beams\" = 3", "bad.toml:9:24", "'sweep.generate.num_beams' must be a non-empty list"},
      {"[sweep]\n\"output.dir\" = [\"a\", \"b\"]", "bad.toml:9:16", "'sweep.output.dir' cannot be swept"},
      {"[[variant]]\nname = \"x\"\n\"generate.num_beam\" = 2", "bad.toml:10:23", "'generate.num_beam' is unknown"},
      {"[[variant]]\n\"decoder.plugin\" = \"t5\"", "bad.toml:8:1", "'variant.name' must be a non-empty string"},
      {"generate = { num_beams = 2 ", "bad.toml:", "bad.toml"},  // TOML syntax error
  };
  for (const auto& c : cases) {
    CAPTURE(c.text);
    auto file = s.write("bad.toml", std::string(kBase).substr(0, std::string(kBase).find("generate")) + "\n" + c.text + "\n");
    std::string m = error_of(file);
    CHECK(m.find(c.expected_position) != std::string::npos);
    CHECK(m.find(c.expected_key) != std::string::npos);
  }
}

TEST_CASE("every shipped experiment loads, and its dataset settings are accepted") {
  const fs::path source = capbench::testing::source_dir();
  int checked = 0;
  for (const auto& entry : fs::directory_iterator(source / "experiments")) {
    if (entry.path().extension() != ".toml") continue;
    CAPTURE(entry.path());
    const Experiment experiment = load_experiment(entry.path(), {capbench::known_metrics()});
    CHECK_FALSE(experiment.runs.empty());
    // The data of the real-checkpoint experiments is not in the repository: the
    // dataset table is read against the bundled demo images instead.
    toml::table dataset = *experiment.dataset;
    dataset.insert_or_assign("root", (source / "experiments" / "demo").string());
    capbench::Settings settings(dataset, experiment.dataset_where);
    CHECK(capbench::load_dataset(settings, source).items.size() == 4);
    ++checked;
  }
  CHECK(checked >= 4);
}

TEST_CASE("weights: a weights file beside the checkpoint, per model or component, swept like it") {
  Scratch s("weights");
  const std::string base = R"(name = "t"
dataset = { kind = "folder", root = "images" }
model = { checkpoint = "models/blip2", weights = "lavis/model.pth" }
encoder = { plugin = "blip2-vision" }
bridge = { plugin = "qformer" }
decoder = { plugin = "opt", weights = "other.pth" }
generate = { max_new_tokens = 20 }
)";
  Experiment e = load_experiment(s.write("exp.toml", base + R"(
[[variant]]
name = "lavis"
[[variant]]
name = "hf"
"model.weights" = "lavis/finetuned.pth"
)"));
  REQUIRE(e.runs.size() == 2);
  CHECK(e.runs[0].encoder.weights == (s.dir / "lavis/model.pth").lexically_normal());
  CHECK(e.runs[0].bridge.weights == e.runs[0].encoder.weights);
  CHECK(e.runs[0].decoder.weights == (s.dir / "other.pth").lexically_normal());
  CHECK(e.runs[1].encoder.weights == (s.dir / "lavis/finetuned.pth").lexically_normal());
  CHECK(e.runs[0].image_side_key != e.runs[1].image_side_key);  // other weights, other image features
  CHECK(e.runs[1].label == "hf");

  // Without weights the settings (and so the run ids) are what they were before the key existed.
  Experiment plain = load_experiment(s.write("plain.toml", kBase));
  CHECK(plain.runs[0].encoder.weights.empty());
  CHECK(plain.runs[0].settings_json.find("weights") == std::string::npos);

  // Resolved against the file that wrote them, through extends.
  s.write("base/base.toml", base);
  Experiment child = load_experiment(s.write("child.toml", "extends = \"base/base.toml\"\n"));
  CHECK(child.runs[0].encoder.weights == (s.dir / "base/lavis/model.pth").lexically_normal());
  // The scorer reads its folder's weights: the key goes to the plugin, which does not know it.
  Experiment scored = load_experiment(s.write("scored.toml", std::string(kBase) + "scorer = { checkpoint = \"m\", weights = \"x.pth\" }\n"));
  CHECK(scored.scorer.component.weights.empty());
}
