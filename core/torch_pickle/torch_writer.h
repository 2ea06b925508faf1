#pragma once
// Writing state dicts in PyTorch's zip format, as torch.save(OrderedDict) does,
// through libtorch's own archive writer (caffe2::serialize::PyTorchStreamWriter,
// the one torch.save uses: stored records, data aligned to 64 bytes). torch.load
// reads the result. For tests, benchmarks and tools that need .bin / .pth files.
#include <ATen/core/Tensor.h>

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace capbench {

// Writes `tensors` (any device, stored contiguous) as an OrderedDict state dict,
// one storage per tensor; with `wrapper`, as {wrapper: state dict} (LAVIS saves
// {"model": ...}). Throws Error when the file cannot be written.
void write_torch_state_dict(const std::filesystem::path& path, const std::vector<std::pair<std::string, at::Tensor>>& tensors,
                            const std::string& wrapper = "");

// The protocol-2 pickle torch.save writes for an OrderedDict of `tensors`, the
// i-th stored contiguous as storage "<i>" (records data/<i>). `wrapper`: when not
// empty, the dict is wrapped as {wrapper: state_dict} (as LAVIS saves {"model": ...}).
std::string state_dict_pickle(const std::vector<std::pair<std::string, at::Tensor>>& tensors, const std::string& wrapper = "");

// An archive of raw records ("data.pkl", "data/0", ...; the writer adds "version"),
// optionally deflate-compressed. For tests that craft their own pickles.
void write_torch_archive(const std::filesystem::path& path, const std::vector<std::pair<std::string, std::string>>& records,
                         bool compress = false);

}  // namespace capbench
