#pragma once
// Which SIMD path the kernels run. Detected once from cpuid; tests and benchmarks may force a
// lower level to exercise every path the machine can run.
#include <string_view>

namespace toolgate::engine {

enum class IsaLevel : int {
  Scalar = 0,  // portable C++
  Avx2 = 1,    // AVX2 + FMA + F16C (+ BMI2)
  Avx512 = 2,  // AVX-512 F/BW/VL/DQ + VNNI
};

IsaLevel detected_isa();  // best level this CPU (and OS) supports
IsaLevel active_isa();    // level the kernels use now: detected, or lower if forced / TOOLGATE_ISA
std::string_view isa_name(IsaLevel level);

// Test/bench hook: make the kernels use `level`. Throws std::invalid_argument when the CPU
// lacks it. Not meant to be flipped while kernels run on other threads.
void force_isa(IsaLevel level);
void reset_isa();  // back to detected_isa() (or the level TOOLGATE_ISA names)

}  // namespace toolgate::engine
