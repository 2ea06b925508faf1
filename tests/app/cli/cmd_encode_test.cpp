// `capbench encode` end to end: the fixture image files through the image
// processor, blip2-vision and qformer; the dump holds exactly the references'
// image-side tensors, under their names, with their values.
#include <doctest/doctest.h>
#include <torch/torch.h>

#include <set>

#include "core/checkpoint.h"
#include "core/json_file.h"
#include "tests/app/cli/cli_test_support.h"

using namespace capbench;
using namespace capbench::testing;

namespace {

std::vector<std::string> reference_images() {
  std::vector<std::string> files;
  const nlohmann::json references = read_json_file(fixture("blip2-opt-tiny/references.json"));
  for (const auto& name : references["images"]) files.push_back(fixture("images/" + name.get<std::string>()).string());
  return files;
}

bool image_side(const std::string& name) {
  return name == "pixel_values" || name == "language_projection" || name.rfind("vision.", 0) == 0 ||
         name.rfind("qformer.", 0) == 0;
}

double max_abs_diff(const at::Tensor& a, const at::Tensor& b) {
  REQUIRE(a.sizes() == b.sizes());
  return (a.to(torch::kDouble) - b.to(torch::kDouble)).abs().max().item<double>();
}

void check_dump(const std::string& folder) {
  CAPTURE(folder);
  TempDir dir;
  const std::vector<std::string> images = reference_images();
  const std::string dump = (dir / "dump.safetensors").string();
  const CliResult r =
      capbench_cli({"encode", "--model", fixture(folder).string(), images[0], images[1], "--dump", dump});
  CAPTURE(r.err);
  REQUIRE(r.status == 0);
  const Checkpoint got = Checkpoint::open(dump);
  const Checkpoint refs = Checkpoint::open(fixture(folder + "/references.safetensors"));
  // pixel_values are stored once, with blip2-opt-tiny's references (every model used them).
  const Checkpoint pixel_refs = Checkpoint::open(fixture("blip2-opt-tiny/references.safetensors"));
  std::set<std::string> expected_names = {"pixel_values"};
  for (const std::string& name : refs.names())
    if (image_side(name)) expected_names.insert(name);
  const std::vector<std::string> names = got.names();
  CHECK(std::set<std::string>(names.begin(), names.end()) == expected_names);
  CHECK(r.out == "wrote " + std::to_string(expected_names.size()) + " tensors for 2 images to " + dump + "\n");
  for (const std::string& name : names) {
    CAPTURE(name);
    const at::Tensor expected = name == "pixel_values" ? pixel_refs.view(name) : refs.view(name);
    CHECK((got.view(name).scalar_type() == at::kFloat));
    CHECK(max_abs_diff(got.view(name), expected) <= (name == "pixel_values" ? 1e-6 : 1e-4));
  }
}

}  // namespace

TEST_CASE("encode: every image-side tensor of blip2-opt-tiny, named and valued as transformers") {
  check_dump("blip2-opt-tiny");
}

TEST_CASE("encode: every image-side tensor of blip2-t5-tiny, named and valued as transformers") {
  check_dump("blip2-t5-tiny");
}

TEST_CASE("encode: --pixel-values instead of image files gives the same tensors") {
  TempDir dir;
  const std::string dump = (dir / "dump.safetensors").string();
  const CliResult r = capbench_cli({"encode", "--model", fixture("blip2-opt-tiny").string(), "--pixel-values",
                                    fixture("blip2-opt-tiny/references.safetensors").string(), "--dump", dump});
  CAPTURE(r.err);
  REQUIRE(r.status == 0);
  const Checkpoint refs = Checkpoint::open(fixture("blip2-opt-tiny/references.safetensors"));
  CHECK(max_abs_diff(Checkpoint::open(dump).view("language_projection"), refs.view("language_projection")) <= 1e-4);
}

TEST_CASE("encode: bad arguments and bad images end with one line") {
  TempDir dir;
  const std::string model = fixture("blip2-opt-tiny").string(), dump = (dir / "d.safetensors").string();
  const std::string image = reference_images()[0];
  check_usage_error(capbench_cli({"encode", "--model", model, "--dump", dump}), "encode",
                    "give image files or --pixel-values FILE");
  check_usage_error(capbench_cli({"encode", "--model", model, image}), "encode", "--dump");
  write_bytes(dir / "empty.png", {});
  check_one_line_error(capbench_cli({"encode", "--model", model, (dir / "empty.png").string(), "--dump", dump}),
                       (dir / "empty.png").string() + ": image file is empty");
  CHECK_FALSE(std::filesystem::exists(dump));
}
