#pragma once
// How a capbench model is defined: a torch::nn::Module tree whose parameter
// names are the checkpoint's (so load_module() fills it strictly), built from
// the layers of core/nn (Linear, LayerNorm, RMSNorm, Embedding) and composing
// the shared blocks (attention, feed_forward, masks, KvCache) in its forward.
// These two helpers name the levels of the tree as transformers does.
#include <torch/nn/module.h>

#include <memory>
#include <string>
#include <vector>

namespace capbench::nn {

// A named level without parameters of its own ("encoder", "attention", "mlp").
std::shared_ptr<torch::nn::Module> level(torch::nn::Module& parent, const std::string& name);

// `count` layers named "0".."count-1" under parent.name ("encoder.layers.3"),
// each made by make(i); returns them in order.
template <class Layer, class Make>
std::vector<std::shared_ptr<Layer>> layer_list(torch::nn::Module& parent, const std::string& name, int64_t count,
                                               Make make) {
  auto list = level(parent, name);
  std::vector<std::shared_ptr<Layer>> layers;
  for (int64_t i = 0; i < count; ++i)
    layers.push_back(list->register_module(std::to_string(i), std::shared_ptr<Layer>(make(i))));
  return layers;
}

}  // namespace capbench::nn
