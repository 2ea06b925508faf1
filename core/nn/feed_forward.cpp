#include "core/nn/feed_forward.h"

#include "core/nn/activations.h"

namespace capbench::nn {

at::Tensor feed_forward(const at::Tensor& x, const Linear& up, const std::string& act, const Linear& down) {
  return down.forward(activation(act, up.forward(x)));
}

at::Tensor gated_feed_forward(const at::Tensor& x, const Linear& gate, const Linear& up, const std::string& act,
                              const Linear& down) {
  return down.forward(activation(act, gate.forward(x)) * up.forward(x));
}

}  // namespace capbench::nn
