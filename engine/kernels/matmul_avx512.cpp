#include "engine/kernels/kernel_table.h"
namespace toolgate::engine {
const KernelTable& kernel_table_avx512() { return kernel_table_scalar(); }
void fill_vec_avx512(KernelTable& t) { fill_vec_scalar(t); }
}  // namespace toolgate::engine
