// make-random-blip2 OUT --tokenizer DIR [sizes]: writes a random-weight BLIP-2
// checkpoint folder in Hugging Face's layout (see core/random_blip2.h).
#include <boost/program_options.hpp>
#include <iostream>

#include "core/error.h"
#include "core/random_blip2.h"

namespace po = boost::program_options;

int main(int argc, char** argv) {
  capbench::RandomBlip2Options o;
  po::options_description options(
      "usage: make-random-blip2 OUT --tokenizer DIR [options]\n\n"
      "Writes a BLIP-2 checkpoint with random weights (its captions are noise).\n\nOptions");
  options.add_options()("help,h", "show this help")("out", po::value<std::string>()->required(), "folder to write")(
      "tokenizer", po::value<std::string>()->required(), "folder whose tokenizer files are copied (vocab.json + merges.txt, spiece.model)")(
      "language-model", po::value(&o.language_model)->default_value(o.language_model), "opt or t5")(
      "vision-hidden", po::value(&o.vision_hidden)->default_value(o.vision_hidden), "")(
      "vision-layers", po::value(&o.vision_layers)->default_value(o.vision_layers), "")(
      "vision-heads", po::value(&o.vision_heads)->default_value(o.vision_heads), "")(
      "vision-intermediate", po::value(&o.vision_intermediate)->default_value(o.vision_intermediate), "")(
      "image-size", po::value(&o.image_size)->default_value(o.image_size), "")(
      "patch-size", po::value(&o.patch_size)->default_value(o.patch_size), "")(
      "qformer-hidden", po::value(&o.qformer_hidden)->default_value(o.qformer_hidden), "")(
      "qformer-layers", po::value(&o.qformer_layers)->default_value(o.qformer_layers), "")(
      "qformer-heads", po::value(&o.qformer_heads)->default_value(o.qformer_heads), "")(
      "qformer-intermediate", po::value(&o.qformer_intermediate)->default_value(o.qformer_intermediate), "")(
      "query-tokens", po::value(&o.query_tokens)->default_value(o.query_tokens), "")(
      "text-hidden", po::value(&o.text_hidden)->default_value(o.text_hidden), "OPT hidden_size / T5 d_model")(
      "text-layers", po::value(&o.text_layers)->default_value(o.text_layers), "")(
      "text-heads", po::value(&o.text_heads)->default_value(o.text_heads), "")(
      "text-ffn", po::value(&o.text_ffn)->default_value(o.text_ffn), "OPT ffn_dim / T5 d_ff")(
      "text-head-dim", po::value(&o.text_head_dim)->default_value(o.text_head_dim), "T5 d_kv")(
      "vocab-size", po::value(&o.vocab_size)->default_value(o.vocab_size), "0: the tokenizer's size")(
      "max-positions", po::value(&o.max_positions)->default_value(o.max_positions), "OPT max_position_embeddings")(
      "seed", po::value(&o.seed)->default_value(o.seed), "same seed and sizes, same weights");
  po::positional_options_description positional;
  positional.add("out", 1);
  try {
    po::variables_map vm;
    po::store(po::command_line_parser(argc, argv).options(options).positional(positional).run(), vm);
    if (vm.count("help")) {
      std::cout << options << "\n";
      return 0;
    }
    po::notify(vm);
    o.tokenizer = vm["tokenizer"].as<std::string>();
    capbench::write_random_blip2(vm["out"].as<std::string>(), o);
    std::cerr << "make-random-blip2: wrote " << vm["out"].as<std::string>() << " (random weights)\n";
    return 0;
  } catch (const po::error& e) {
    std::cerr << "make-random-blip2: " << e.what() << "\n" << options << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "make-random-blip2: error: " << e.what() << "\n";
    return 1;
  }
}
