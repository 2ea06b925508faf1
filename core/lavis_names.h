#pragma once
// LAVIS BLIP-2 state dicts (Blip2OPT / Blip2T5: LAVIS's own .pth checkpoints and
// torch.save(model.state_dict()) of a LAVIS model) under the names of
// transformers' Blip2ForConditionalGeneration, which the plugins read. The
// mapping is the inverse of transformers' convert_blip_2_original_to_pytorch.py:
//   visual_encoder.cls_token / pos_embed / patch_embed.proj  -> vision_model.embeddings.*
//   visual_encoder.blocks.N.{norm1,norm2,attn.qkv,attn.proj,mlp} -> vision_model.encoder.layers.N.*
//   visual_encoder.blocks.N.attn.q_bias + zeros + v_bias    -> ...layers.N.self_attn.qkv.bias
//   ln_vision                                               -> vision_model.post_layernorm
//   Qformer.bert.* (attention.self -> attention.attention)  -> qformer.*
//   opt_proj / t5_proj                                      -> language_projection
//   opt_model.* / t5_model.*                                -> language_model.*
//   query_tokens                                            -> query_tokens
// and drops the buffer Qformer.bert.embeddings.position_ids.
#include <string>
#include <vector>

#include "core/blip2_config.h"

namespace capbench {

// One tensor of the renamed checkpoint.
struct LavisTensor {
  std::string name;    // the transformers name
  std::string source;  // the LAVIS name it is read from (for a qkv bias: the q_bias)
  std::string v_bias;  // for a qkv bias only: the v_bias; the bias is cat(q_bias, zeros, v_bias)
};

// True when `names` are LAVIS's: some name starts with visual_encoder., ln_vision.,
// Qformer., opt_proj., t5_proj., opt_model. or t5_model.
bool has_lavis_names(const std::vector<std::string>& names);

// The transformers tensors, in the order of `names` (a qkv bias where its q_bias
// was), for the model `config` describes. Throws one Error "<origin>: ..." listing
// the names that model would not have and those it needs but `names` lacks.
std::vector<LavisTensor> map_lavis_names(const std::vector<std::string>& names, const Blip2Config& config,
                                         const std::string& origin);

}  // namespace capbench
