// capbench caption: captions (or answers a prompt about) single images with a
// BLIP-2 checkpoint: image processor -> encoder -> bridge -> decoder + search.
#include <torch/torch.h>

#include <iostream>
#include <nlohmann/json.hpp>

#include "app/cli/command.h"
#include "app/image_pipeline.h"
#include "core/checkpoint.h"
#include "core/error.h"
#include "core/generation.h"
#include "core/json_file.h"
#include "core/log.h"
#include "core/plugin_loader.h"
#include "core/prompt.h"
#include "core/tokenizer.h"

namespace capbench::cli {

namespace {

po::options_description generation_flags(GenerationOptions& o) {
  po::options_description flags("generation options (see README, Generation options)");
  flags.add_options()
      ("max-new-tokens", po::value(&o.max_new_tokens)->default_value(o.max_new_tokens), "tokens generated at most, EOS included")
      ("min-new-tokens", po::value(&o.min_new_tokens)->default_value(o.min_new_tokens), "EOS forbidden before this many new tokens")
      ("num-beams", po::value(&o.num_beams)->default_value(o.num_beams), "beam width (1: greedy; with --sample, beam sample)")
      ("length-penalty", po::value(&o.length_penalty)->default_value(o.length_penalty), "beam score = sum logprob / length ** this")
      ("early-stopping", po::value(&o.early_stopping)->default_value(o.early_stopping), "beam search: true, false or never")
      ("repetition-penalty", po::value(&o.repetition_penalty)->default_value(o.repetition_penalty), "> 1 discourages generated tokens")
      ("no-repeat-ngram-size", po::value(&o.no_repeat_ngram_size)->default_value(o.no_repeat_ngram_size), "never repeat an n-gram of this size (0: off)")
      ("num-captions", po::value(&o.num_captions)->default_value(o.num_captions), "captions per image (beams or sampling)")
      ("sample", po::bool_switch(&o.do_sample), "sample (top-k / top-p / temperature) instead of taking the best tokens")
      ("top-p", po::value(&o.top_p)->default_value(o.top_p), "sampling: nucleus probability mass")
      ("top-k", po::value(&o.top_k)->default_value(o.top_k), "sampling: keep the k best tokens (0: all)")
      ("temperature", po::value(&o.temperature)->default_value(o.temperature), "sampling: logits divided by this")
      ("seed", po::value(&o.seed)->default_value(o.seed), "sampling: each image gets what transformers' generate gives for it alone after torch.manual_seed(N) (torch 1.13, CPU)")
      ("prompt", po::value(&o.prompt), "text after the image, e.g. \"a photo of\"");
  return flags;
}

// The decoder plugin a checkpoint's config asks for.
std::string decoder_for(const std::filesystem::path& model) {
  const std::filesystem::path file = model / "config.json";
  JsonObject config(read_json_file(file), file);
  const std::string type = config.child("text_config").get_string("model_type", "opt");
  if (type == "opt") return "opt";
  if (type == "t5") return "t5";
  throw Error(file.string() + ": text_config.model_type '" + type + "' has no decoder plugin (use --decoder)");
}

at::Tensor read_pixel_values(const std::filesystem::path& file) {
  Checkpoint tensors = Checkpoint::open(file);
  const auto names = tensors.names();
  if (tensors.contains("pixel_values")) return tensors.load("pixel_values", at::kFloat, c10::Device(c10::kCPU));
  if (names.size() == 1) return tensors.load(names.front(), at::kFloat, c10::Device(c10::kCPU));
  throw Error(file.string() + ": expected a tensor named pixel_values (or a single tensor)");
}

std::string prompt_of(const po::variables_map& vm, const GenerationOptions& o) {
  std::vector<QaTurn> turns;
  if (vm.count("context-file")) turns = read_context_file(vm["context-file"].as<std::string>());
  if (vm.count("context"))
    for (const auto& text : vm["context"].as<std::vector<std::string>>()) turns.push_back(parse_turn(text));
  std::string question;
  if (vm.count("question")) question = vm["question"].as<std::string>();
  if (turns.empty()) return question.empty() ? o.prompt : vqa_prompt(question);
  if (question.empty()) question = o.prompt;
  if (question.empty()) throw UsageError("--context needs the new question: --question TEXT (or --prompt TEXT)");
  return context_prompt(turns, question);
}

}  // namespace

int run_caption(const std::vector<std::string>& args) {
  GenerationOptions generation;
  std::string model, weights, pixel_values, dtype = "fp32", device = "cpu", dump;
  std::string encoder_plugin = "blip2-vision", bridge_plugin = "qformer", decoder_plugin;
  int64_t batch_size = 8, threads = 0;
  po::options_description options("caption options");
  options.add_options()
      ("model", po::value(&model)->required(), "BLIP-2 checkpoint folder (Hugging Face layout)")
      ("weights", po::value(&weights), "weights file read instead of the folder's: a LAVIS BLIP-2 .pth, a torch.save "
                                       "state dict or a .safetensors file (the folder still gives config, tokenizer, processor)")
      ("images", po::value<std::vector<std::string>>(), "image files (also positional)")
      ("pixel-values", po::value(&pixel_values), "safetensors file with pixel_values [B,3,H,W] instead of images")
      ("question", po::value<std::string>(), "ask a question: the prompt becomes \"Question: ... Answer:\"")
      ("context", po::value<std::vector<std::string>>()->composing(), "an earlier turn question=answer (repeatable)")
      ("context-file", po::value<std::string>(), "earlier turns, one per line: question<TAB>answer or question=answer")
      ("dtype", po::value(&dtype)->default_value(dtype), "fp32, fp16, bf16 or int8 (int8 linear weights, CPU; README, Speed)")
      ("device", po::value(&device)->default_value(device), "cpu, cuda, cuda:N or auto")
      ("batch-size", po::value(&batch_size)->default_value(batch_size), "images per forward pass")
      ("threads", po::value(&threads)->default_value(threads), "CPU threads (0: every core, or OMP_NUM_THREADS)")
      ("json", "print a JSON array, one object per image")
      ("dump", po::value(&dump), "write the image-side tensors and first-step logits to this safetensors file")
      ("encoder", po::value(&encoder_plugin)->default_value(encoder_plugin), "image encoder plugin")
      ("bridge", po::value(&bridge_plugin)->default_value(bridge_plugin), "bridge plugin")
      ("decoder", po::value(&decoder_plugin), "decoder plugin (default: from the config's text_config.model_type)");
  options.add(generation_flags(generation));
  po::positional_options_description positional;
  positional.add("images", -1);
  po::variables_map vm;
  if (!parse(args, command("caption"), options, positional, vm)) return 0;

  std::vector<std::string> images;
  if (vm.count("images")) images = vm["images"].as<std::vector<std::string>>();
  if (images.empty() == pixel_values.empty()) throw UsageError("give image files or --pixel-values FILE (one of them)");
  if (batch_size < 1) throw UsageError("--batch-size must be at least 1");
  generation.prompt = prompt_of(vm, generation);
  if (decoder_plugin.empty()) decoder_plugin = decoder_for(model);
  check_dtype_option(dtype, device, "caption");

  c10::InferenceMode inference;
  PluginRegistry registry(PluginRegistry::search_path(plugin_dirs(vm)));
  const ComponentContext context{model, device, dtype, Settings(), weights};
  ImagePipeline image_side(registry, {encoder_plugin, context}, {bridge_plugin, context}, model);
  ComponentContext decoder_ctx = context;
  auto decoder = registry.create<TextDecoder>(decoder_plugin, decoder_ctx);
  auto tokenizer = load_tokenizer(model);
  // After the plugins: their placement sets up every core unless told otherwise.
  if (threads > 0) at::set_num_threads(static_cast<int>(threads));

  at::Tensor all_pixels;
  if (!pixel_values.empty()) {
    all_pixels = read_pixel_values(pixel_values);
    if (all_pixels.dim() != 4) throw Error(pixel_values + ": pixel_values must be [B,3,H,W]");
    for (int64_t i = 0; i < all_pixels.size(0); ++i) images.push_back(pixel_values + "[" + std::to_string(i) + "]");
  }
  const int64_t count = static_cast<int64_t>(images.size());

  ImageSideDump dumped;
  nlohmann::json out = nlohmann::json::array();
  for (int64_t begin = 0; begin < count; begin += batch_size) {
    const int64_t n = std::min(batch_size, count - begin);
    const ImageSideOutput image =
        all_pixels.defined()
            ? image_side.run(all_pixels.narrow(0, begin, n))
            : image_side.run(std::vector<std::filesystem::path>(images.begin() + begin, images.begin() + begin + n));
    GenerationOutput generated = generate_text(*decoder, *tokenizer, image.bridge.soft_prompt, generation);
    if (!dump.empty()) {
      dumped.add(image);
      dumped.add("first_logits", generated.first_logits);
    }
    for (int64_t i = 0; i < n; ++i) {
      nlohmann::json item = {{"image", images[begin + i]}, {"captions", nlohmann::json::array()},
                             {"ids", nlohmann::json::array()}, {"scores", nlohmann::json::array()}};
      for (const Caption& c : generated.captions[i]) {
        item["captions"].push_back(c.text);
        item["ids"].push_back(c.ids);
        item["scores"].push_back(c.score);
        if (!vm.count("json")) std::cout << images[begin + i] << "\t" << c.text << "\n";
      }
      out.push_back(std::move(item));
    }
  }
  if (vm.count("json")) std::cout << out.dump(2) << "\n";
  if (!dump.empty()) {
    dumped.write(dump, {{"prompt", generation.prompt}});
    log::info("wrote {}", dump);
  }
  return 0;
}

}  // namespace capbench::cli
