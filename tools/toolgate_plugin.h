/* Toolgate tool plugin ABI.
 *
 * A plugin is a shared library that exports one C function, toolgate_plugin_init. Only C types
 * cross the boundary, so a plugin may be written in C, C++, Rust, ... and built separately from
 * the server; it must not let exceptions or panics escape any of these functions.
 *
 * Lifecycle
 *   1. The host dlopen()s the library and calls
 *        toolgate_plugin_init(TOOLGATE_PLUGIN_ABI_VERSION, settings_json, err, err_size)
 *      settings_json is the plugin's settings object from the server config as JSON text
 *      ("{}" if none). On failure the plugin returns NULL and writes a NUL-terminated message
 *      of at most err_size bytes (including the NUL) into err.
 *   2. On success it returns a pointer to a toolgate_plugin that stays valid until shutdown.
 *      The host reads abi_version first and touches no other field unless it equals
 *      TOOLGATE_PLUGIN_ABI_VERSION: the layout after it may differ between versions.
 *   3. The host calls invoke() for tool calls, possibly from several threads at once, and a
 *      call the host gave up on (timeout) may still be running when others start: invoke must
 *      be thread-safe.
 *   4. When no tool of the plugin is referenced any more (and no call is running), the host
 *      calls shutdown(state) if it is non-NULL, then dlclose()s the library.
 *
 * Strings are NUL-terminated UTF-8. Strings in toolgate_plugin and toolgate_tool_spec belong
 * to the plugin and must stay valid until shutdown. Strings a plugin returns through invoke's
 * `output` are released by the host with free_string().
 */
#ifndef TOOLGATE_PLUGIN_H_
#define TOOLGATE_PLUGIN_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Bump on any incompatible change to the structs or functions below. */
#define TOOLGATE_PLUGIN_ABI_VERSION 1u

#if defined(_WIN32)
#define TOOLGATE_PLUGIN_EXPORT __declspec(dllexport)
#else
#define TOOLGATE_PLUGIN_EXPORT __attribute__((visibility("default")))
#endif

#define TOOLGATE_PLUGIN_INIT_SYMBOL "toolgate_plugin_init"

/* Return values of invoke(). */
#define TOOLGATE_PLUGIN_OK 0
#define TOOLGATE_PLUGIN_ERROR 1

typedef struct toolgate_tool_spec {
  const char* name;            /* [A-Za-z0-9_-]{1,64}, unique within the server */
  const char* description;     /* shown to the model */
  const char* parameters_json; /* JSON schema of the arguments object, as JSON text */
} toolgate_tool_spec;

typedef struct toolgate_plugin {
  uint32_t abi_version; /* must be TOOLGATE_PLUGIN_ABI_VERSION; always the first field */
  const char* name;     /* plugin name, for messages */
  size_t tool_count;
  const toolgate_tool_spec* tools; /* tool_count entries */
  void* state;                     /* passed back to every function below */

  /* Runs tool `tool_name` with `args_json`, a JSON object already validated against the
   * tool's schema. Returns TOOLGATE_PLUGIN_OK and sets *output to the result as JSON text, or
   * returns TOOLGATE_PLUGIN_ERROR and sets *output to a plain-text error message (or NULL).
   * The host releases *output with free_string. */
  int (*invoke)(void* state, const char* tool_name, const char* args_json, char** output);

  /* Releases a string returned through invoke's output. */
  void (*free_string)(void* state, char* s);

  /* Optional (may be NULL): releases `state`; called once, last. */
  void (*shutdown)(void* state);
} toolgate_plugin;

/* The one exported entry point. */
typedef const toolgate_plugin* (*toolgate_plugin_init_fn)(uint32_t host_abi_version,
                                                          const char* settings_json, char* error,
                                                          size_t error_size);

TOOLGATE_PLUGIN_EXPORT const toolgate_plugin* toolgate_plugin_init(uint32_t host_abi_version,
                                                                   const char* settings_json,
                                                                   char* error, size_t error_size);

#ifdef __cplusplus
}
#endif

#endif /* TOOLGATE_PLUGIN_H_ */
