#include "core/nn/module_tree.h"

namespace capbench::nn {

std::shared_ptr<torch::nn::Module> level(torch::nn::Module& parent, const std::string& name) {
  return parent.register_module(name, std::make_shared<torch::nn::Module>());
}

}  // namespace capbench::nn
