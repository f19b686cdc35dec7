#pragma once
// `toolgate export`: writes the stored completions as fine-tuning data.
//   toolgate export --config FILE [--model M] [--metadata k=v]... [--since DATE]
//                   --out DIR [--validation 0.1]
// DATE is YYYY-MM-DD (UTC midnight) or unix seconds. Returns the process exit code.
namespace toolgate::gateway {

int run_export_command(int argc, char** argv);  // argv[0] is "export"

}  // namespace toolgate::gateway
