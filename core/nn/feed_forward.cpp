#include "core/nn/feed_forward.h"

#include "core/error.h"
#include "core/nn/activations.h"

namespace capbench::nn {

at::Tensor activated(const Linear& layer, const std::string& act, const at::Tensor& x) {
  if (layer.activation() == act) return layer.forward(x);
  if (!layer.activation().empty())
    throw Error("feed-forward block: its layer applies '" + layer.activation() + "', the block asks for '" + act + "'");
  return activation(act, layer.forward(x));
}

at::Tensor feed_forward(const at::Tensor& x, const Linear& up, const std::string& act, const Linear& down) {
  return down.forward(activated(up, act, x));
}

at::Tensor gated_feed_forward(const at::Tensor& x, const Linear& gate, const Linear& up, const std::string& act,
                              const Linear& down) {
  return down.forward(activated(gate, act, x) * up.forward(x));
}

}  // namespace capbench::nn
