#include "core/safetensors.h"

#include <doctest/doctest.h>
#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "tests/core/checkpoint_test_support.h"

using capbench::SafetensorsFile;
using namespace capbench::testing;

namespace {

// Reads the JSON header of a file the way any other reader would: from the raw bytes.
nlohmann::json raw_header(const std::filesystem::path& file, uint64_t* length = nullptr) {
  std::vector<uint8_t> bytes = read_bytes(file);
  REQUIRE(bytes.size() >= 8);
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | bytes[i];
  if (length) *length = n;
  return nlohmann::json::parse(bytes.begin() + 8, bytes.begin() + 8 + static_cast<std::ptrdiff_t>(n));
}

}  // namespace

TEST_CASE("every safetensors file of the fixtures opens, with Hugging Face's header content") {
  for (const char* name : {"blip2-opt-tiny/model.safetensors", "blip2-opt-tiny-fp16/model.safetensors",
                           "blip2-opt-tiny-sharded/model-00001-of-00003.safetensors",
                           "blip2-opt-tiny-sharded/model-00002-of-00003.safetensors",
                           "blip2-opt-tiny-sharded/model-00003-of-00003.safetensors",
                           "blip2-t5-tiny/model-00001-of-00002.safetensors",
                           "blip2-t5-tiny/model-00002-of-00002.safetensors", "minilm-tiny/model.safetensors",
                           "blip2-opt-tiny/references.safetensors", "images/references.safetensors"}) {
    CAPTURE(name);
    SafetensorsFile file = SafetensorsFile::open(fixture(name));
    nlohmann::json header = raw_header(fixture(name));
    size_t tensors = header.size() - (header.contains("__metadata__") ? 1 : 0);
    REQUIRE(file.header().tensors.size() == tensors);
    for (size_t i = 0; i < file.header().tensors.size(); ++i) {
      const auto& entry = file.header().tensors[i];
      const auto& json = header.at(entry.name);
      CHECK(capbench::safetensors_dtype_name(entry.dtype) == json["dtype"].get<std::string>());
      CHECK((entry.shape == json["shape"].get<std::vector<int64_t>>()));
      CHECK(entry.begin == file.header().data_begin + json["data_offsets"][0].get<uint64_t>());
      if (i > 0) CHECK(file.header().tensors[i - 1].begin <= entry.begin);  // data order
      CHECK(file.view(i).sizes() == at::IntArrayRef(entry.shape));
    }
    CHECK((file.header().metadata == std::vector<std::pair<std::string, std::string>>{{"format", "pt"}}));
  }
}

TEST_CASE("the writer round-trips every dtype, odd shapes and metadata") {
  TempDir dir;
  torch::manual_seed(0);
  std::vector<std::pair<std::string, at::Tensor>> tensors = {
      {"f64", torch::randn({3, 5}, torch::kDouble)},
      {"f32", torch::randn({7})},
      {"f16", torch::randn({2, 3, 4}).to(torch::kHalf)},
      {"bf16", torch::randn({5, 1}).to(torch::kBFloat16)},
      {"i64", torch::arange(-6, 6, torch::kLong).reshape({3, 4})},
      {"i32", torch::arange(-3, 3, torch::kInt)},
      {"i16", torch::arange(-300, 300, 7, torch::kShort)},
      {"i8", torch::arange(-128, 127, torch::kChar)},
      {"u8", torch::arange(0, 255, torch::kByte)},
      {"bool", torch::tensor({true, false, true})},
      {"scalar", torch::tensor(3.5)},
      {"empty", torch::zeros({0, 4})},
      {"transposed", torch::randn({3, 4}).t()},  // not contiguous: stored in logical order
      {"a.dotted.name", torch::ones({1})},
  };
  std::map<std::string, std::string> metadata = {{"format", "pt"}, {"note", "round trip ünïcode"}};
  capbench::write_safetensors(dir / "out.safetensors", tensors, metadata);

  uint64_t length = 0;
  nlohmann::json header = raw_header(dir / "out.safetensors", &length);
  CHECK(length % 8 == 0);  // padded so the data area is aligned
  CHECK(header["__metadata__"]["note"].get<std::string>() == "round trip ünïcode");

  SafetensorsFile file = SafetensorsFile::open(dir / "out.safetensors");
  REQUIRE(file.header().tensors.size() == tensors.size());
  for (size_t i = 0; i < tensors.size(); ++i) {
    const auto& [name, tensor] = tensors[i];
    CAPTURE(name);
    const auto& entry = file.header().tensors[i];  // written in the given order
    CHECK(entry.name == name);
    at::Tensor back = file.view(i);
    CHECK((back.scalar_type() == tensor.scalar_type()));
    CHECK(back.sizes() == tensor.sizes());
    CHECK(torch::equal(back, tensor));
  }
  CHECK((file.header().metadata ==
         std::vector<std::pair<std::string, std::string>>(metadata.begin(), metadata.end())));
  CHECK_FALSE(std::filesystem::exists(dir / ("out.safetensors.tmp" + std::to_string(::getpid()))));
}

TEST_CASE("the writer refuses what the format cannot hold") {
  TempDir dir;
  CHECK_THROWS_WITH_AS(capbench::write_safetensors(dir / "a.safetensors", {{"x", torch::ones({1})}, {"x", torch::ones({1})}}),
                       doctest::Contains("'x' is used twice"), capbench::Error);
  CHECK_THROWS_AS(capbench::write_safetensors(dir / "b.safetensors", {{"c", torch::ones({1}, torch::kComplexFloat)}}),
                  capbench::Error);
  CHECK_THROWS_AS(capbench::write_safetensors(dir / "c.safetensors", {{"u", at::Tensor()}}), capbench::Error);
  CHECK_THROWS_AS(capbench::write_safetensors(dir / "no-such-dir" / "d.safetensors", {{"x", torch::ones({1})}}),
                  capbench::Error);
}

TEST_CASE("a view outlives its file object and a write into it stays private") {
  TempDir dir;
  capbench::write_safetensors(dir / "w.safetensors", {{"w", torch::arange(6, torch::kFloat)}});
  at::Tensor view;
  {
    SafetensorsFile file = SafetensorsFile::open(dir / "w.safetensors");
    view = file.view(0);
  }
  CHECK(view[5].item<float>() == 5.0f);
  view.mul_(2);  // copy-on-write: no crash, the file keeps its bytes
  CHECK(view[5].item<float>() == 10.0f);
  CHECK(SafetensorsFile::open(dir / "w.safetensors").view(0)[5].item<float>() == 5.0f);
}
