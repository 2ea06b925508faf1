// A complete capbench plugin (README, "Write a plugin"): a Bridge that maps
// image features to a soft prompt with one linear layer, read from the tensors
// projection.weight [D_lm, D] and projection.bias [D_lm] of a checkpoint.
#include <c10/core/InferenceMode.h>

#include "core/checkpoint.h"
#include "core/module_loading.h"
#include "core/nn/linear.h"
#include "core/nn/placement.h"
#include "core/plugin_api.h"

namespace {

using namespace capbench;

class LinearBridge : public Bridge {
 public:
  explicit LinearBridge(ComponentContext& ctx) : place_(nn::place(ctx, "linear-bridge")) {
    const Checkpoint checkpoint = Checkpoint::open(ctx.checkpoint);
    const std::vector<int64_t>& shape = checkpoint.info("projection.weight").shape;
    projection_ = std::make_shared<nn::Linear>(shape.at(1), shape.at(0));
    load_module(*projection_, checkpoint, "projection.", nn::load_options(place_, *projection_));
    nn::prepare(*projection_, place_);
  }

  Output bridge(const at::Tensor& features, bool /*want_hidden_states*/) override {
    c10::InferenceMode guard;
    const at::Tensor x = features.to(place_.device, place_.dtype);
    return {projection_->forward(x), x, {}};
  }

 private:
  nn::Placement place_;
  std::shared_ptr<nn::Linear> projection_;
};

std::shared_ptr<Bridge> make_linear_bridge(ComponentContext& ctx) { return std::make_shared<LinearBridge>(ctx); }

}  // namespace

CAPBENCH_PLUGIN("linear-bridge", Bridge, "example: one linear projection (projection.* of a checkpoint)",
                make_linear_bridge)
