#include <cstdarg>
#include <cstdio>
#include <cstring>

#include "common.h"

namespace sf {

std::mutex& ConfigMutex() {
  static std::mutex m;
  return m;
}

namespace {
// alsa-lib prints its diagnostics to stderr; keep the calling thread's last one for the JS error instead.
thread_local std::string lastMessage;

void Capture(const char* file, int line, const char* function, int err, const char* fmt, ...) {
  char buf[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  lastMessage = buf;
}
}  // namespace

void InstallErrorHandler() {
  static std::once_flag once;
  std::call_once(once, [] { snd_lib_error_set_handler(Capture); });
}

void ClearAlsaMessage() { lastMessage.clear(); }

std::string ErrnoName(int err) {
  if (err < 0) err = -err;
  const char* name = strerrorname_np(err);  // glibc ≥ 2.32
  return name ? name : "E" + std::to_string(err);
}

Napi::Error AlsaError(Napi::Env env, const std::string& op, int err, const std::string& device) {
  if (err < 0) err = -err;
  std::string msg = op + "(" + device + "): " + snd_strerror(-err);
  Napi::Error e = Napi::Error::New(env, msg);
  e.Set("errno", Napi::String::New(env, ErrnoName(err)));
  e.Set("errnoNumber", Napi::Number::New(env, err));
  e.Set("op", Napi::String::New(env, op));
  e.Set("device", Napi::String::New(env, device));
  if (!lastMessage.empty()) e.Set("alsaMessage", Napi::String::New(env, lastMessage));
  return e;
}

}  // namespace sf
