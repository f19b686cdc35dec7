#include "engine/kernels/cpu_features.h"

#include <atomic>
#include <cstdlib>
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif
#include <stdexcept>
#include <string>

namespace toolgate::engine {
namespace {

#if defined(__x86_64__) || defined(__i386__)
// clang before 15 does not know "f16c" in __builtin_cpu_supports: read CPUID leaf 1 directly
// (the OS support for the YMM state it needs is checked through "avx2").
bool has_f16c() {
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  return __get_cpuid(1, &eax, &ebx, &ecx, &edx) && (ecx & bit_F16C) != 0;
}
#endif

IsaLevel detect() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  // __builtin_cpu_supports also checks that the OS saves the wide registers (xgetbv).
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
      __builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx2") &&
      __builtin_cpu_supports("fma") && has_f16c() &&
      __builtin_cpu_supports("bmi2")) {
    return IsaLevel::Avx512;
  }
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
      has_f16c() && __builtin_cpu_supports("bmi2")) {
    return IsaLevel::Avx2;
  }
#endif
  return IsaLevel::Scalar;
}

std::atomic<int> g_forced{-1};

}  // namespace

IsaLevel detected_isa() {
  static const IsaLevel level = detect();
  return level;
}

namespace {
// TOOLGATE_ISA=scalar|avx2 caps the dispatch for the whole process (e.g. engine_bench on the
// AVX2 path of an AVX-512 host). A level this CPU lacks, or anything else, is ignored.
IsaLevel default_isa() {
  static const IsaLevel level = [] {
    const char* e = std::getenv("TOOLGATE_ISA");
    for (IsaLevel l : {IsaLevel::Scalar, IsaLevel::Avx2}) {
      if (e && isa_name(l) == e && static_cast<int>(l) <= static_cast<int>(detected_isa())) return l;
    }
    return detected_isa();
  }();
  return level;
}
}  // namespace

IsaLevel active_isa() {
  const int forced = g_forced.load(std::memory_order_relaxed);
  return forced >= 0 ? static_cast<IsaLevel>(forced) : default_isa();
}

std::string_view isa_name(IsaLevel level) {
  switch (level) {
    case IsaLevel::Scalar:
      return "scalar";
    case IsaLevel::Avx2:
      return "avx2";
    case IsaLevel::Avx512:
      return "avx512";
  }
  return "unknown";
}

void force_isa(IsaLevel level) {
  if (static_cast<int>(level) > static_cast<int>(detected_isa())) {
    throw std::invalid_argument("force_isa: this CPU does not support " +
                                std::string(isa_name(level)));
  }
  g_forced.store(static_cast<int>(level), std::memory_order_relaxed);
}

void reset_isa() { g_forced.store(-1, std::memory_order_relaxed); }

}  // namespace toolgate::engine
