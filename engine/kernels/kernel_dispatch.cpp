#include "engine/kernels/kernel_table.h"

namespace toolgate::engine {

const KernelTable& active_kernels() {
  switch (active_isa()) {
    case IsaLevel::Avx512:
      return kernel_table_avx512();
    case IsaLevel::Avx2:
      return kernel_table_avx2();
    case IsaLevel::Scalar:
      break;
  }
  return kernel_table_scalar();
}

}  // namespace toolgate::engine
