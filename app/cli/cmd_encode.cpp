// capbench encode: runs the image side (processor, encoder, bridge) on a batch
// and dumps every intermediate tensor under the names of the fixtures'
// references.safetensors, for comparing against a reference implementation.
#include <ATen/ATen.h>

#include <iostream>

#include "app/cli/command.h"
#include "app/image_pipeline.h"
#include "core/checkpoint.h"
#include "core/error.h"
#include "core/plugin_loader.h"

namespace capbench::cli {

namespace {

at::Tensor read_pixel_values(const std::string& file) {
  const Checkpoint tensors = Checkpoint::open(file);
  if (!tensors.contains("pixel_values")) throw Error(file + ": has no tensor named pixel_values");
  at::Tensor pv = tensors.view("pixel_values");
  if (pv.scalar_type() != at::kFloat || pv.dim() != 4 || pv.size(1) != 3)
    throw Error(file + ": pixel_values must be float32 [B,3,H,W]");
  return pv.clone();  // independent of the mapping
}

}  // namespace

int run_encode(const std::vector<std::string>& args) {
  po::options_description options("encode options");
  options.add_options()("model", po::value<std::string>()->required(), "Blip2 checkpoint folder")(
      "weights", po::value<std::string>()->default_value(""),
      "weights file read instead of the folder's (a LAVIS BLIP-2 .pth, a torch.save state dict, a .safetensors file)")(
      "pixel-values", po::value<std::string>(),
      "safetensors file with a float32 [B,3,H,W] tensor `pixel_values` to use instead of image files")(
      "dump", po::value<std::string>()->required(), "safetensors file to write")(
      "dtype", po::value<std::string>()->default_value("fp32"), "fp32, fp16, bf16 or int8 (int8 linear weights, CPU)")(
      "device", po::value<std::string>()->default_value("cpu"), "cpu, cuda, cuda:N or auto")(
      "encoder", po::value<std::string>()->default_value("blip2-vision"), "encoder plugin")(
      "bridge", po::value<std::string>()->default_value("qformer"), "bridge plugin");
  po::options_description hidden;
  hidden.add_options()("images", po::value<std::vector<std::string>>(), "image files");
  options.add(hidden);
  po::positional_options_description positional;
  positional.add("images", -1);
  po::variables_map vm;
  if (!parse(args, command("encode"), options, positional, vm)) return 0;

  const std::string model = vm["model"].as<std::string>();
  const std::vector<std::string> images =
      vm.count("images") ? vm["images"].as<std::vector<std::string>>() : std::vector<std::string>{};
  if (images.empty() == !vm.count("pixel-values"))
    throw UsageError("give image files or --pixel-values FILE (exactly one of them)");

  check_dtype_option(vm["dtype"].as<std::string>(), vm["device"].as<std::string>(), "encode");
  const PluginRegistry registry(PluginRegistry::search_path(plugin_dirs(vm)));
  const ComponentContext context{model, vm["device"].as<std::string>(), vm["dtype"].as<std::string>(), Settings(),
                                 vm["weights"].as<std::string>()};
  ImagePipeline image_side(registry, {vm["encoder"].as<std::string>(), context}, {vm["bridge"].as<std::string>(), context},
                           model);
  const ImageSideOutput out =
      vm.count("pixel-values")
          ? image_side.run(read_pixel_values(vm["pixel-values"].as<std::string>()), /*hidden_states=*/true)
          : image_side.run(std::vector<std::filesystem::path>(images.begin(), images.end()), /*hidden_states=*/true);
  // Stored as float32 on the CPU whatever the compute dtype, to compare with references directly.
  ImageSideDump dump;
  dump.add(out);

  std::string sources;
  for (const auto& image : images) sources += (sources.empty() ? "" : "\n") + image;
  const std::string dump_file = vm["dump"].as<std::string>();
  dump.write(dump_file, {{"model", model},
                         {"dtype", vm["dtype"].as<std::string>()},
                         {"device", vm["device"].as<std::string>()},
                         {"inputs", vm.count("pixel-values") ? vm["pixel-values"].as<std::string>() : sources}});
  const int64_t count = out.pixel_values.size(0);
  std::cout << "wrote " << dump.size() << " tensors for " << count << " image" << (count == 1 ? "" : "s")
            << " to " << dump_file << "\n";
  return 0;
}

}  // namespace capbench::cli
