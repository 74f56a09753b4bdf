// senseflow V4L2 addon entry. Context-aware: all state lives in the per-env instance (one per worker), and an
// env cleanup hook closes every device still open when that worker (or the process) exits. Nothing here
// touches the libuv loop; every blocking call is a poll() bounded by the caller's timeout.
#include <napi.h>

#include <vector>

#include "convert.h"
#include "device.h"

namespace sf {

class V4l2Addon : public Napi::Addon<V4l2Addon> {
 public:
  V4l2Addon(Napi::Env env, Napi::Object exports) : registry(std::make_shared<Registry>()) {
    DefineAddon(exports, {
                             InstanceValue("Device", Device::Define(env), napi_enumerable),
                             InstanceMethod("convertFrame", &V4l2Addon::ConvertFrame, napi_enumerable),
                         });
    std::shared_ptr<Registry> reg = registry;
    env.AddCleanupHook([reg]() {
      std::vector<Device*> open(reg->open.begin(), reg->open.end());
      for (Device* d : open) d->release();  // STREAMOFF, munmap, close(fd)
    });
  }
  ~V4l2Addon() {
    if (tj) tjDestroy(tj);
  }

  std::shared_ptr<Registry> registry;

 private:
  // convertFrame(src, srcFourcc, width, height, srcStride, dst, outFourcc) → bytes written into dst.
  // The same kernels dequeueInto() uses, for tests and benchmarks without a device.
  Napi::Value ConvertFrame(const Napi::CallbackInfo& info) {
    return guarded(info, [&] { return ConvertFrameImpl(info); });
  }
  Napi::Value ConvertFrameImpl(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 7 || !info[0].IsTypedArray() || !info[5].IsTypedArray())
      throw Napi::TypeError::New(env, "convertFrame(src, srcFourcc, width, height, srcStride, dst, outFourcc)");
    Napi::Uint8Array src = info[0].As<Napi::Uint8Array>();
    Napi::Uint8Array dst = info[5].As<Napi::Uint8Array>();
    Frame f{src.Data(), src.ByteLength(), info[1].As<Napi::Number>().Uint32Value(), info[2].As<Napi::Number>().Int32Value(),
            info[3].As<Napi::Number>().Int32Value(), info[4].As<Napi::Number>().Int32Value()};
    uint32_t out = info[6].As<Napi::Number>().Uint32Value();
    if (!tj && (f.fourcc == FMT_MJPG || f.fourcc == FMT_JPEG)) tj = tjInitDecompress();
    const char* jpegError = nullptr;
    long n = convertFrame(f, dst.Data(), dst.ByteLength(), out, tj, &jpegError);
    if (n < 0) {
      std::string msg;
      switch (n) {
        case CONVERT_SHORT_INPUT: msg = "the source holds fewer bytes than one frame"; break;
        case CONVERT_NO_ROOM: msg = "the destination is too small"; break;
        case CONVERT_BAD_JPEG: msg = std::string("not a decodable JPEG") + (jpegError ? std::string(": ") + jpegError : ""); break;
        case CONVERT_SIZE_MISMATCH: {
          int w = 0, h = 0, ss = 0, cs = 0;
          tjDecompressHeader3(tj, const_cast<unsigned char*>(f.data), (unsigned long)f.bytes, &w, &h, &ss, &cs);
          msg = "the JPEG is " + std::to_string(w) + "x" + std::to_string(h) + ", expected " + std::to_string(f.width) + "x" + std::to_string(f.height);
          break;
        }
        default: msg = "no conversion for this format pair";
      }
      Napi::Error e = Napi::Error::New(env, msg);
      e.Set("code", Napi::String::New(env, "ECONVERT"));
      e.Set("result", Napi::Number::New(env, double(n)));
      throw e;
    }
    return Napi::Number::New(env, double(n));
  }

  tjhandle tj = nullptr;
};

std::shared_ptr<Registry> registryOf(Napi::Env env) { return env.GetInstanceData<V4l2Addon>()->registry; }

}  // namespace sf

using SenseflowV4l2 = sf::V4l2Addon;
NODE_API_ADDON(SenseflowV4l2)
