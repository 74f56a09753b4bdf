// One open V4L2 capture node. Thin: each method is one ioctl (or one streaming step) and returns plain data;
// TypeScript validates, negotiates and names parameters.
#pragma once
#include <napi.h>
#include <turbojpeg.h>

#include <memory>
#include <string>
#include <unordered_set>
#include <vector>

namespace sf {

class Device;

// Runs a method body so that no C++ exception ever reaches node-addon-api's own handler: an error becomes a
// JS exception through the raw napi_throw, and when that is impossible (the worker is being terminated
// mid-call) it is dropped instead of aborting the process.
template <typename F>
Napi::Value guarded(const Napi::CallbackInfo& info, F&& body) {
  try {
    return body();
  } catch (const Napi::Error& e) {
    try {
      napi_throw(info.Env(), e.Value());
    } catch (...) {
    }
  } catch (...) {
  }
  return Napi::Value();
}


// Per-addon-instance (per worker) set of open devices, closed by the env cleanup hook when the worker exits.
struct Registry {
  std::unordered_set<Device*> open;
};

class Device : public Napi::ObjectWrap<Device> {
 public:
  static Napi::Function Define(Napi::Env env);
  // new Device() never fails (a throwing ObjectWrap constructor is unsafe when a worker is torn down);
  // open(path) does the open().
  explicit Device(const Napi::CallbackInfo& info);
  ~Device() override;
  // Stops streaming, unmaps and closes the fd. Idempotent; safe during env teardown (no JS calls).
  void release();

 private:
  struct Mapping {
    void* addr = nullptr;
    size_t length = 0;
  };

  Napi::Value Open(const Napi::CallbackInfo& info) { return guarded(info, [&] { return OpenImpl(info); }); }
  Napi::Value Close(const Napi::CallbackInfo& info) { return guarded(info, [&] { return CloseImpl(info); }); }
  Napi::Value QueryCap(const Napi::CallbackInfo& info) { return guarded(info, [&] { return QueryCapImpl(info); }); }
  Napi::Value EnumFormats(const Napi::CallbackInfo& info) { return guarded(info, [&] { return EnumFormatsImpl(info); }); }
  Napi::Value EnumFrameSizes(const Napi::CallbackInfo& info) { return guarded(info, [&] { return EnumFrameSizesImpl(info); }); }
  Napi::Value EnumFrameIntervals(const Napi::CallbackInfo& info) { return guarded(info, [&] { return EnumFrameIntervalsImpl(info); }); }
  Napi::Value QueryControls(const Napi::CallbackInfo& info) { return guarded(info, [&] { return QueryControlsImpl(info); }); }
  Napi::Value GetControl(const Napi::CallbackInfo& info) { return guarded(info, [&] { return GetControlImpl(info); }); }
  Napi::Value SetControl(const Napi::CallbackInfo& info) { return guarded(info, [&] { return SetControlImpl(info); }); }
  Napi::Value GetFormat(const Napi::CallbackInfo& info) { return guarded(info, [&] { return GetFormatImpl(info); }); }
  Napi::Value SetFormat(const Napi::CallbackInfo& info) { return guarded(info, [&] { return SetFormatImpl(info); }); }
  Napi::Value GetFrameInterval(const Napi::CallbackInfo& info) { return guarded(info, [&] { return GetFrameIntervalImpl(info); }); }
  Napi::Value SetFrameInterval(const Napi::CallbackInfo& info) { return guarded(info, [&] { return SetFrameIntervalImpl(info); }); }
  Napi::Value StartStreaming(const Napi::CallbackInfo& info) { return guarded(info, [&] { return StartStreamingImpl(info); }); }
  Napi::Value StopStreaming(const Napi::CallbackInfo& info) { return guarded(info, [&] { return StopStreamingImpl(info); }); }
  Napi::Value WaitReadable(const Napi::CallbackInfo& info) { return guarded(info, [&] { return WaitReadableImpl(info); }); }
  Napi::Value DequeueInto(const Napi::CallbackInfo& info) { return guarded(info, [&] { return DequeueIntoImpl(info); }); }
  Napi::Value OpenImpl(const Napi::CallbackInfo& info);
  Napi::Value CloseImpl(const Napi::CallbackInfo& info);
  Napi::Value QueryCapImpl(const Napi::CallbackInfo& info);
  Napi::Value EnumFormatsImpl(const Napi::CallbackInfo& info);
  Napi::Value EnumFrameSizesImpl(const Napi::CallbackInfo& info);
  Napi::Value EnumFrameIntervalsImpl(const Napi::CallbackInfo& info);
  Napi::Value QueryControlsImpl(const Napi::CallbackInfo& info);
  Napi::Value GetControlImpl(const Napi::CallbackInfo& info);
  Napi::Value SetControlImpl(const Napi::CallbackInfo& info);
  Napi::Value GetFormatImpl(const Napi::CallbackInfo& info);
  Napi::Value SetFormatImpl(const Napi::CallbackInfo& info);
  Napi::Value GetFrameIntervalImpl(const Napi::CallbackInfo& info);
  Napi::Value SetFrameIntervalImpl(const Napi::CallbackInfo& info);
  Napi::Value StartStreamingImpl(const Napi::CallbackInfo& info);
  Napi::Value StopStreamingImpl(const Napi::CallbackInfo& info);
  Napi::Value WaitReadableImpl(const Napi::CallbackInfo& info);
  Napi::Value DequeueIntoImpl(const Napi::CallbackInfo& info);

  int fdOrThrow(Napi::Env env, const char* op) const;
  void unmapAll();
  Napi::Object formatObject(Napi::Env env, const void* v4l2Format) const;

  std::shared_ptr<Registry> registry_;
  std::string path_;
  int fd_ = -1;
  bool streaming_ = false;
  std::vector<Mapping> buffers_;
  // Negotiated format, needed to interpret mmap'd buffers.
  uint32_t fourcc_ = 0;
  int width_ = 0, height_ = 0, stride_ = 0;
  tjhandle tj_ = nullptr;
};

// The registry of the addon instance living in `env` (defined in addon.cc).
std::shared_ptr<Registry> registryOf(Napi::Env env);

// Throws a JS Error carrying `code` (errno name, e.g. "EBUSY"), `errno`, `syscall` and `path`.
[[noreturn]] void throwErrno(Napi::Env env, int err, const char* op, const std::string& path);

}  // namespace sf
