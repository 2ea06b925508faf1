// torch.save files (PyTorch's zip format): files written by PyTorch 1.13 itself
// (tests/fixtures/torch-save, see make_files.py there) read as torch.load reads
// them, views in place; everything else is refused in one line, and a pickle that
// would run a command runs nothing.
#include "core/torch_pickle/torch_file.h"

#include <doctest/doctest.h>
#include <torch/torch.h>

#include "core/checkpoint.h"
#include "core/error.h"
#include "core/safetensors.h"
#include "core/torch_pickle/torch_writer.h"
#include "tests/core/checkpoint_test_support.h"

using capbench::Checkpoint;
using namespace capbench::testing;
namespace fs = std::filesystem;

namespace {

fs::path torch_fixture(const std::string& name) { return fixture("torch-save/" + name); }

// The one-line error of opening `path`, which starts with the file's name.
std::string torch_error(const fs::path& path) {
  std::string message = open_error(path);
  CHECK_MESSAGE(message.rfind(path.string() + ": ", 0) == 0, message);
  return message;
}

std::string str(const std::string& s) {
  uint32_t n = static_cast<uint32_t>(s.size());
  return "X" + std::string(reinterpret_cast<const char*>(&n), 4) + s;
}

}  // namespace

TEST_CASE("a dict of views saved by PyTorch: shared storage, offsets, strides, every dtype") {
  Checkpoint c = Checkpoint::open(torch_fixture("views.pth"));
  CHECK((c.names() == std::vector<std::string>{"base", "row", "column", "transposed", "scalar", "half", "bf16", "flags", "empty", "int8"}));
  const at::Tensor base = torch::arange(12.0f).reshape({3, 4});
  CHECK(torch::equal(c.view("base"), base));
  CHECK(torch::equal(c.view("row"), base[1]));
  CHECK(torch::equal(c.view("column"), base.select(1, 1)));
  CHECK(torch::equal(c.view("transposed"), base.t()));
  CHECK((c.view("transposed").strides() == at::IntArrayRef{1, 4}));
  // One storage in the file: the views point into the base's bytes.
  CHECK(static_cast<float*>(c.view("row").data_ptr()) == static_cast<float*>(c.view("base").data_ptr()) + 4);
  CHECK(c.view("scalar").dim() == 0);
  CHECK(c.view("scalar").item<int64_t>() == 7);
  CHECK(torch::equal(c.view("half"), torch::arange(4, torch::kHalf)));
  CHECK(torch::equal(c.view("bf16"), torch::arange(4, torch::kBFloat16)));
  CHECK(torch::equal(c.view("flags"), torch::tensor({true, false, true})));
  CHECK((c.view("empty").sizes() == at::IntArrayRef{0, 3}));
  CHECK(torch::equal(c.view("int8"), torch::arange(-3, 3, torch::kChar)));
  // load() gives contiguous tensors, converted as asked.
  at::Tensor loaded = c.load("transposed", at::kFloat, at::kCPU);
  CHECK(loaded.is_contiguous());
  CHECK(torch::equal(loaded, base.t()));
  CHECK(torch::equal(c.load("half", at::kFloat, at::kCPU), torch::arange(4.0f)));
  CHECK(c.metadata().empty());
  CHECK(c.folder() == fixture("torch-save"));
}

TEST_CASE("a module's state dict (OrderedDict with _metadata) and saved parameters") {
  Checkpoint module = Checkpoint::open(torch_fixture("module.pth"));
  CHECK((module.names() == std::vector<std::string>{"0.weight", "0.bias", "1.weight", "1.bias", "1.running_mean",
                                                    "1.running_var", "1.num_batches_tracked"}));
  CHECK(torch::equal(module.view("0.weight"), torch::arange(6.0f).reshape({2, 3})));
  CHECK(torch::equal(module.view("0.bias"), torch::tensor({10.0f, 20.0f})));
  CHECK(torch::equal(module.view("1.running_var"), torch::tensor({7.0f, 8.0f})));
  CHECK((module.info("1.num_batches_tracked").dtype == at::kLong));
  CHECK(module.view("1.num_batches_tracked").item<int64_t>() == 9);
  // A view of fp32 data on the CPU is the mapping itself: no copy.
  CHECK(module.load("0.weight", at::kFloat, at::kCPU).data_ptr() == module.view("0.weight").data_ptr());

  CHECK(torch::equal(Checkpoint::open(torch_fixture("parameters.pth")).view("p"), torch::arange(3.0f)));
}

TEST_CASE("what capbench writes is what it reads, wrapped or not, and in stored, aligned records") {
  TempDir dir;
  std::vector<std::pair<std::string, at::Tensor>> tensors;
  torch::manual_seed(3);
  for (auto dtype : {torch::kFloat, torch::kDouble, torch::kHalf, torch::kBFloat16, torch::kLong, torch::kInt, torch::kShort,
                     torch::kChar, torch::kByte, torch::kBool})
    tensors.emplace_back(std::string("t_") + c10::toString(dtype), (torch::randn({3, 5}) * 50).to(dtype));
  capbench::write_torch_state_dict(dir / "all.bin", tensors);
  Checkpoint c = Checkpoint::open(dir / "all.bin");
  REQUIRE(c.names().size() == tensors.size());
  for (const auto& [name, tensor] : tensors) {
    CAPTURE(name);
    CHECK(torch::equal(c.view(name), tensor));
    CHECK(reinterpret_cast<uintptr_t>(c.view(name).data_ptr()) % 64 == 0);  // torch.save's alignment
  }
  // {"model": state dict, "epoch": 3, "config": {...}}, as LAVIS saves
  std::string wrapped = capbench::state_dict_pickle({tensors[0]}, "model");
  wrapped.insert(wrapped.size() - 1, str("epoch") + "K\x03s" + str("config") + "}" + str("arch") + str("blip2_opt") + "ss");
  std::string storage(static_cast<const char*>(tensors[0].second.data_ptr()), tensors[0].second.nbytes());
  capbench::write_torch_archive(dir / "wrapped.pth", {{"data.pkl", wrapped}, {"data/0", storage}});
  Checkpoint w = Checkpoint::open(dir / "wrapped.pth");
  CHECK((w.names() == std::vector<std::string>{tensors[0].first}));
  CHECK(torch::equal(w.view(tensors[0].first), tensors[0].second));
}

TEST_CASE("a pickle that would run a command is refused and runs nothing") {
  TempDir dir;
  const fs::path marker = dir / "pickle-ran";
  // What torch.save writes for an object whose __reduce__ is (os.system, ("touch FILE",)),
  // alone and inside an otherwise good state dict.
  const std::string system = "cposix\nsystem\n" + str("touch '" + marker.string() + "'") + "\x85R";
  capbench::write_torch_archive(dir / "evil.pth", {{"data.pkl", "\x80\x02" + system + "."}});
  std::string good = capbench::state_dict_pickle({{"w", torch::ones({2})}});
  good.insert(good.size() - 2, str("evil") + system);  // one more entry before SETITEMS
  capbench::write_torch_archive(dir / "evil_entry.pth",
                                {{"data.pkl", good}, {"data/0", std::string(8, '\0')}});
  for (const char* name : {"evil.pth", "evil_entry.pth"}) {
    CAPTURE(name);
    std::string message = torch_error(dir / name);
    CHECK(message.find("data.pkl: the pickle names the Python global 'posix.system'") != std::string::npos);
    CHECK_FALSE(fs::exists(marker));
  }
}

TEST_CASE("truncated, empty, non-zip, legacy, TorchScript and compressed files: one line each") {
  TempDir dir;
  const std::vector<uint8_t> good = read_bytes(torch_fixture("views.pth"));
  size_t refused = 0;
  // (The last 98 bytes are the end records; the classic one's trailing comment length is not needed once the
  // ZIP64 record torch.save also writes is read, so cuts that reach into the directory are what lose data.)
  for (size_t cut : {size_t{0}, size_t{3}, size_t{100}, good.size() / 2, good.size() - 60, good.size() - 100}) {
    CAPTURE(cut);
    write_bytes(dir / "cut.pth", std::vector<uint8_t>(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(cut)));
    std::string message = torch_error(dir / "cut.pth");
    refused += message.find("truncated") != std::string::npos;
  }
  CHECK(refused == 6);
  write_bytes(dir / "text.bin", {'h', 'e', 'l', 'l', 'o', '\n'});
  CHECK(torch_error(dir / "text.bin").find("not a PyTorch checkpoint: neither a zip archive") != std::string::npos);

  std::string legacy = torch_error(torch_fixture("legacy.pth"));
  CHECK(legacy.find("legacy serialization format") != std::string::npos);
  CHECK(legacy.find("torch.save(torch.load(") != std::string::npos);
  CHECK(torch_error(torch_fixture("torchscript.pt")).find("a TorchScript archive (torch.jit.save)") != std::string::npos);

  std::string floats(64, '\0');
  capbench::write_torch_archive(dir / "deflated.pth",
                                {{"data.pkl", capbench::state_dict_pickle({{"w", torch::zeros({16})}})}, {"data/0", floats}}, true);
  std::string compressed = torch_error(dir / "deflated.pth");
  CHECK(compressed.find("is compressed (method 8)") != std::string::npos);

  capbench::write_torch_archive(dir / "missing.pth", {{"data.pkl", capbench::state_dict_pickle({{"w", torch::zeros({16})}})}});
  CHECK(torch_error(dir / "missing.pth").find("lacks the zip entry 'missing/data/0'") != std::string::npos);
  capbench::write_torch_archive(dir / "short.pth",
                                {{"data.pkl", capbench::state_dict_pickle({{"w", torch::zeros({16})}})}, {"data/0", floats.substr(0, 60)}});
  CHECK(torch_error(dir / "short.pth").find("holds 60 bytes, fewer than its 16 elements of Float need") != std::string::npos);
  capbench::write_torch_archive(dir / "list.pth", {{"data.pkl", "\x80\x02]."}});
  CHECK(torch_error(dir / "list.pth").find("holds a pickled list, not a state dict") != std::string::npos);
  capbench::write_torch_archive(dir / "int.pth", {{"data.pkl", "\x80\x02}" + str("w") + "K\x01s."}});
  CHECK(torch_error(dir / "int.pth").find("entry 'w' of the state dict is a int, not a tensor") != std::string::npos);
}
