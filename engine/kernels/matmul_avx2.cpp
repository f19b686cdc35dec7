#include "engine/kernels/kernel_table.h"
namespace toolgate::engine {
const KernelTable& kernel_table_avx2() { return kernel_table_scalar(); }
void fill_vec_avx2(KernelTable& t) { fill_vec_scalar(t); }
}  // namespace toolgate::engine
