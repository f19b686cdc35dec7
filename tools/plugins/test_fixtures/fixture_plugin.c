/* Test plugins; exactly one FIXTURE_<kind> is defined per build:
 *   good        four tools: fixture_echo (returns its arguments), fixture_error (fails with a
 *               message), fixture_bad_json (returns text that is not JSON), fixture_slow (sleeps
 *               args.ms milliseconds, then returns {"slept": true})
 *   bad_abi     reports ABI version 999
 *   bad_spec    a tool whose parameters_json is not JSON
 *   init_fails  init returns NULL with a reason
 *   no_symbol   exports no toolgate_plugin_init at all
 *   misbehaving fixture_echo plus three tools that take the whole process down, for process
 *               isolation (tools/plugin_host.h): fixture_crash (writes through a null pointer),
 *               fixture_spin (burns CPU for ever), fixture_hog (allocates and touches memory
 *               without end; aborts when malloc finally fails), fixture_self (reports the
 *               process's open fds, NoNewPrivs and RLIMIT_AS: what the helper was given) */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#if defined(FIXTURE_misbehaving)
#include <dirent.h>
#include <sys/resource.h>
#endif

#include "tools/toolgate_plugin.h"

#if defined(FIXTURE_no_symbol)

TOOLGATE_PLUGIN_EXPORT int not_a_toolgate_plugin(void) { return 42; }

#else

static char* copy_string(const char* s) {
  size_t n = strlen(s) + 1;
  char* out = malloc(n);
  if (out) memcpy(out, s, n);
  return out;
}

/* Reads "ms": N from the (host-serialised, compact) arguments without a JSON parser. */
static long read_ms(const char* args) {
  const char* p = strstr(args, "\"ms\":");
  return p ? strtol(p + 5, NULL, 10) : 0;
}

static int fixture_invoke(void* state, const char* tool, const char* args, char** output) {
  (void)state;
  if (strcmp(tool, "fixture_echo") == 0) {
    *output = copy_string(args);
    return TOOLGATE_PLUGIN_OK;
  }
#if defined(FIXTURE_misbehaving)
  if (strcmp(tool, "fixture_crash") == 0) {
    volatile int* volatile nowhere = NULL;
    *nowhere = 1;
  }
  if (strcmp(tool, "fixture_spin") == 0) {
    volatile unsigned long n = 0;
    for (;;) ++n;
  }
  if (strcmp(tool, "fixture_self") == 0) {
    int fds = 0;
    DIR* dir = opendir("/proc/self/fd");
    if (dir) {
      while (readdir(dir)) ++fds;
      closedir(dir);
      fds -= 3; /* ".", ".." and the directory stream's own fd */
    }
    int no_new_privs = -1;
    FILE* status = fopen("/proc/self/status", "r");
    if (status) {
      char line[256];
      while (fgets(line, sizeof line, status))
        if (strncmp(line, "NoNewPrivs:", 11) == 0) no_new_privs = atoi(line + 11);
      fclose(status);
    }
    struct rlimit as;
    getrlimit(RLIMIT_AS, &as);
    char buf[160];
    snprintf(buf, sizeof buf, "{\"fds\":%d,\"no_new_privs\":%d,\"as_limit\":%.0f}", fds,
             no_new_privs, as.rlim_cur == RLIM_INFINITY ? -1.0 : (double)as.rlim_cur);
    *output = copy_string(buf);
    return TOOLGATE_PLUGIN_OK;
  }
  if (strcmp(tool, "fixture_hog") == 0) {
    for (;;) {
      char* block = malloc(16u << 20);
      if (!block) abort();
      memset(block, 1, 16u << 20);
    }
  }
#endif
  if (strcmp(tool, "fixture_error") == 0) {
    *output = copy_string("the fixture failed on purpose");
    return TOOLGATE_PLUGIN_ERROR;
  }
  if (strcmp(tool, "fixture_bad_json") == 0) {
    *output = copy_string("this is {not json");
    return TOOLGATE_PLUGIN_OK;
  }
  if (strcmp(tool, "fixture_slow") == 0) {
    long ms = read_ms(args);
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
    *output = copy_string("{\"slept\":true}");
    return TOOLGATE_PLUGIN_OK;
  }
  *output = NULL;
  return TOOLGATE_PLUGIN_ERROR;
}

static void fixture_free_string(void* state, char* s) {
  (void)state;
  free(s);
}

#define OBJECT_SCHEMA "{\"type\":\"object\"}"

static const toolgate_tool_spec kTools[] = {
#if defined(FIXTURE_bad_spec)
    {"fixture_echo", "Echo", "{\"type\": \"object\", oops}"},
#elif defined(FIXTURE_misbehaving)
    {"fixture_echo", "Echo the arguments", OBJECT_SCHEMA},
    {"fixture_crash", "Crashes the process", OBJECT_SCHEMA},
    {"fixture_spin", "Never returns", OBJECT_SCHEMA},
    {"fixture_hog", "Eats all memory", OBJECT_SCHEMA},
    {"fixture_self", "Reports the process's fds and limits", OBJECT_SCHEMA},
#else
    {"fixture_echo", "Echo the arguments", OBJECT_SCHEMA},
    {"fixture_error", "Always fails", OBJECT_SCHEMA},
    {"fixture_bad_json", "Returns invalid JSON", OBJECT_SCHEMA},
    {"fixture_slow", "Sleeps",
     "{\"type\":\"object\",\"properties\":{\"ms\":{\"type\":\"integer\",\"minimum\":0,"
     "\"maximum\":10000}},\"required\":[\"ms\"]}"},
#endif
};

static toolgate_plugin g_plugin = {
#if defined(FIXTURE_bad_abi)
    999u,
#else
    TOOLGATE_PLUGIN_ABI_VERSION,
#endif
    "fixture", sizeof kTools / sizeof kTools[0], kTools, NULL, fixture_invoke, fixture_free_string,
    NULL};

TOOLGATE_PLUGIN_EXPORT const toolgate_plugin* toolgate_plugin_init(uint32_t host_abi_version,
                                                                   const char* settings_json,
                                                                   char* error, size_t error_size) {
  (void)host_abi_version;
  (void)settings_json;
#if defined(FIXTURE_init_fails)
  (void)g_plugin;
  snprintf(error, error_size, "the fixture refuses to start");
  return NULL;
#else
  (void)error;
  (void)error_size;
  return &g_plugin;
#endif
}

#endif
