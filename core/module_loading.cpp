#include "core/module_loading.h"

#include <torch/nn/module.h>
#include <torch/utils.h>

#include <unordered_map>

#include "core/error.h"

namespace capbench {

namespace {

struct Target {
  std::string name;  // without prefix
  at::Tensor tensor;
  std::string source;  // checkpoint name (with prefix), empty until resolved
};

std::string shape_text(at::IntArrayRef shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i) text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + "]";
}

// "missing 3: a, b, c" with at most `shown` names, then a count of the rest.
std::string summarize(const char* what, const std::vector<std::string>& names) {
  constexpr size_t shown = 5;
  std::string text = std::string(what) + " " + std::to_string(names.size()) + ": ";
  for (size_t i = 0; i < names.size() && i < shown; ++i) text += (i ? ", " : "") + names[i];
  if (names.size() > shown) text += ", ... and " + std::to_string(names.size() - shown) + " more";
  return text;
}

std::vector<Target> targets_of(torch::nn::Module& module) {
  std::vector<Target> targets;
  for (const auto& item : module.named_parameters(true))
    if (item.value().defined()) targets.push_back({item.key(), item.value(), ""});
  for (const auto& item : module.named_buffers(true))
    if (item.value().defined()) targets.push_back({item.key(), item.value(), ""});
  return targets;
}

// Picks each target's checkpoint tensor: its own name, else its tie, else the
// tensor of another target it shares storage with.
std::vector<std::string> resolve_sources(std::vector<Target>& targets, const Checkpoint& checkpoint,
                                         const std::string& prefix, const LoadOptions& options) {
  std::unordered_map<const c10::TensorImpl*, std::string> source_of_impl;
  for (auto& target : targets) {
    if (checkpoint.contains(prefix + target.name)) {
      target.source = prefix + target.name;
    } else if (auto tie = options.tied.find(target.name);
               tie != options.tied.end() && checkpoint.contains(prefix + tie->second)) {
      target.source = prefix + tie->second;
    } else {
      continue;
    }
    source_of_impl.emplace(target.tensor.unsafeGetTensorImpl(), target.source);
  }
  std::vector<std::string> missing;
  for (auto& target : targets) {
    if (!target.source.empty()) continue;
    if (auto shared = source_of_impl.find(target.tensor.unsafeGetTensorImpl()); shared != source_of_impl.end())
      target.source = shared->second;
    else if (auto tie = options.tied.find(target.name); tie != options.tied.end())
      missing.push_back(target.name + " (nor its tie " + tie->second + ")");
    else
      missing.push_back(target.name);
  }
  return missing;
}

}  // namespace

void load_module(torch::nn::Module& module, const Checkpoint& checkpoint, const std::string& prefix,
                 const LoadOptions& options) {
  std::vector<Target> targets = targets_of(module);
  std::vector<std::string> missing = resolve_sources(targets, checkpoint, prefix, options);

  std::vector<std::string> mismatched;
  std::set<std::string> used;
  for (const auto& target : targets) {
    if (target.source.empty()) continue;
    used.insert(target.source);
    const auto& stored = checkpoint.info(target.source).shape;
    if (target.tensor.sizes() != at::IntArrayRef(stored))
      mismatched.push_back(target.name + " (checkpoint " + target.source + " " + shape_text(stored) + ", module " +
                           shape_text(target.tensor.sizes()) + ")");
  }
  std::vector<std::string> unexpected;
  for (const auto& name : checkpoint.names(prefix))
    if (!used.count(name) && !options.ignore.count(name.substr(prefix.size()))) unexpected.push_back(name);

  if (!missing.empty() || !unexpected.empty() || !mismatched.empty()) {
    std::string where = checkpoint.files().size() == 1 ? checkpoint.files().front().string() : checkpoint.folder().string();
    std::string problems;
    if (!missing.empty()) problems += summarize("missing", missing);
    if (!unexpected.empty()) problems += (problems.empty() ? "" : "; ") + summarize("unexpected", unexpected);
    if (!mismatched.empty()) problems += (problems.empty() ? "" : "; ") + summarize("shape mismatch", mismatched);
    throw Error(where + ": tensors under prefix '" + prefix + "' do not match the module: " + problems);
  }

  torch::NoGradGuard no_grad;
  // One converted tensor per checkpoint name and dtype: tied and shared targets reuse it.
  std::unordered_map<std::string, at::Tensor> loaded;
  for (auto& target : targets) {
    const at::ScalarType stored = checkpoint.info(target.source).dtype;
    const at::ScalarType dtype =
        at::isFloatingType(stored) && !options.keep_stored.count(target.name) ? options.dtype : stored;
    const std::string key = target.source + '\0' + c10::toString(dtype);
    auto it = loaded.find(key);
    if (it == loaded.end()) it = loaded.emplace(key, checkpoint.load(target.source, dtype, options.device)).first;
    if (!target.tensor.is_same(it->second)) target.tensor.set_data(it->second);
  }
}

}  // namespace capbench
