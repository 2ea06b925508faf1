#include <algorithm>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>

#include "app/cli/command.h"
#include "core/checkpoint.h"
#include "core/json_file.h"
#include "core/safetensors.h"

namespace capbench::cli {

namespace {

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i) text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + "]";
}

// config.json's model_type and, for composite models (BLIP-2), text_config's; null when absent.
std::pair<nlohmann::json, nlohmann::json> model_types(const std::filesystem::path& folder) {
  std::filesystem::path file = folder / "config.json";
  if (!std::filesystem::exists(file)) return {nullptr, nullptr};
  JsonObject config(read_json_file(file), file);
  nlohmann::json type = config.has("model_type") ? nlohmann::json(config.get_string("model_type", "")) : nullptr;
  JsonObject text = config.child("text_config");
  nlohmann::json text_type = text.has("model_type") ? nlohmann::json(text.get_string("model_type", "")) : nullptr;
  return {type, text_type};
}

nlohmann::json describe(const Checkpoint& checkpoint) {
  nlohmann::json rows = nlohmann::json::array();
  std::map<std::string, uint64_t> bytes;
  int64_t parameters = 0;
  for (const auto& name : checkpoint.names()) {
    const TensorInfo& info = checkpoint.info(name);
    int64_t count = 1;
    for (int64_t d : info.shape) count *= d;
    std::string dtype = safetensors_dtype_name(info.dtype);
    parameters += count;
    bytes[dtype] += static_cast<uint64_t>(count) * safetensors_element_size(info.dtype);
    rows.push_back({{"name", name}, {"dtype", dtype}, {"shape", info.shape}, {"file", info.file.filename().string()}});
  }
  auto [type, text_type] = model_types(checkpoint.folder());
  return {{"checkpoint", checkpoint.folder().string()},
          {"model_type", type},
          {"text_model_type", text_type},
          {"tensors", rows},
          {"totals", {{"tensors", rows.size()}, {"parameters", parameters}, {"bytes", bytes}}}};
}

void print_table(const nlohmann::json& summary) {
  size_t name_width = 4, shape_width = 5;
  for (const auto& row : summary["tensors"]) {
    name_width = std::max(name_width, row["name"].get<std::string>().size());
    shape_width = std::max(shape_width, shape_text(row["shape"]).size());
  }
  auto pad = [](const std::string& text, size_t width) { return text + std::string(width + 2 - text.size(), ' '); };
  std::cout << pad("NAME", name_width) << pad("DTYPE", 5) << pad("SHAPE", shape_width) << "FILE\n";
  for (const auto& row : summary["tensors"])
    std::cout << pad(row["name"], name_width) << pad(row["dtype"], 5) << pad(shape_text(row["shape"]), shape_width)
              << row["file"].get<std::string>() << "\n";
  const auto& totals = summary["totals"];
  std::cout << "\n" << totals["tensors"] << " tensors, " << totals["parameters"] << " parameters";
  for (const auto& [dtype, count] : totals["bytes"].items()) std::cout << ", " << dtype << " " << count << " bytes";
  std::cout << "\nmodel type: " << (summary["model_type"].is_null() ? "unknown (no config.json)" : summary["model_type"].get<std::string>());
  if (!summary["text_model_type"].is_null()) std::cout << " (text model: " << summary["text_model_type"].get<std::string>() << ")";
  std::cout << "\n";
}

}  // namespace

int run_inspect(const std::vector<std::string>& args) {
  po::options_description options("inspect options");
  options.add_options()("checkpoint", po::value<std::string>()->required(),
                        "snapshot folder or weights file (.safetensors, torch.save .bin/.pth, index .json)")(
      "weights", po::value<std::string>()->default_value(""),
      "weights file read instead of the folder's, listed under the names the plugins read (LAVIS .pth names renamed)")(
      "json", "print one JSON object instead of a table");
  po::positional_options_description positional;
  positional.add("checkpoint", 1);
  po::variables_map vm;
  if (!parse(args, command("inspect"), options, positional, vm)) return 0;

  nlohmann::json summary = describe(Checkpoint::open(vm["checkpoint"].as<std::string>(), vm["weights"].as<std::string>()));
  if (vm.count("json"))
    std::cout << summary.dump(2) << "\n";
  else
    print_table(summary);
  return 0;
}

}  // namespace capbench::cli
