#pragma once
// `toolgate merge-lora BASE.gguf ADAPTER.gguf OUT.gguf [--scale S] [--type keep|f16|f32]`:
// folds a LoRA adapter into its base model (engine/model/lora_merge.h) for deployments that
// serve only the fine-tune. Returns the process exit code.
namespace toolgate::gateway {

int run_merge_lora_command(int argc, char** argv);  // argv[0] is "merge-lora"

}  // namespace toolgate::gateway
