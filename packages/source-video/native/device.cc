#include "device.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/videodev2.h>
#include <poll.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>

#include "convert.h"

namespace sf {
namespace {

int xioctl(int fd, unsigned long req, void* arg) {
  int r;
  do r = ioctl(fd, req, arg);
  while (r == -1 && errno == EINTR);
  return r;
}

const char* errnoName(int err) {
  const char* n = strerrorname_np(err);
  return n ? n : "EUNKNOWN";
}

// Errors that mean "the device went away": the stream reports a disconnect instead of failing.
bool isGone(int err) { return err == ENODEV || err == EIO || err == ENXIO || err == EPIPE; }

std::string cstr(const uint8_t* s, size_t max) { return std::string(reinterpret_cast<const char*>(s), strnlen(reinterpret_cast<const char*>(s), max)); }

}  // namespace

void throwErrno(Napi::Env env, int err, const char* op, const std::string& path) {
  Napi::Error e = Napi::Error::New(env, std::string(op) + " on " + path + " failed: " + strerror(err) + " (" + errnoName(err) + ")");
  e.Set("code", Napi::String::New(env, errnoName(err)));
  e.Set("errno", Napi::Number::New(env, err));
  e.Set("syscall", Napi::String::New(env, op));
  e.Set("path", Napi::String::New(env, path));
  throw e;
}

Napi::Function Device::Define(Napi::Env env) {
  return DefineClass(env, "Device",
                     {
                         InstanceMethod("open", &Device::Open),
                         InstanceMethod("close", &Device::Close),
                         InstanceMethod("querycap", &Device::QueryCap),
                         InstanceMethod("enumFormats", &Device::EnumFormats),
                         InstanceMethod("enumFrameSizes", &Device::EnumFrameSizes),
                         InstanceMethod("enumFrameIntervals", &Device::EnumFrameIntervals),
                         InstanceMethod("queryControls", &Device::QueryControls),
                         InstanceMethod("getControl", &Device::GetControl),
                         InstanceMethod("setControl", &Device::SetControl),
                         InstanceMethod("getFormat", &Device::GetFormat),
                         InstanceMethod("setFormat", &Device::SetFormat),
                         InstanceMethod("getFrameInterval", &Device::GetFrameInterval),
                         InstanceMethod("setFrameInterval", &Device::SetFrameInterval),
                         InstanceMethod("startStreaming", &Device::StartStreaming),
                         InstanceMethod("stopStreaming", &Device::StopStreaming),
                         InstanceMethod("waitReadable", &Device::WaitReadable),
                         InstanceMethod("dequeueInto", &Device::DequeueInto),
                     });
}

Device::Device(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Device>(info) { registry_ = registryOf(info.Env()); }

// open(path): opens the node non-blocking (every wait goes through poll with a short timeout).
Napi::Value Device::OpenImpl(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsString()) throw Napi::TypeError::New(env, "open(path): path must be a string");
  if (fd_ >= 0) throwErrno(env, EBUSY, "open (already open)", path_);
  path_ = info[0].As<Napi::String>().Utf8Value();
  fd_ = ::open(path_.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd_ < 0) throwErrno(env, errno, "open", path_);
  registry_->open.insert(this);
  return env.Undefined();
}

Device::~Device() {
  release();
  if (registry_) registry_->open.erase(this);
}

void Device::unmapAll() {
  for (auto& m : buffers_)
    if (m.addr && m.addr != MAP_FAILED) munmap(m.addr, m.length);
  buffers_.clear();
}

void Device::release() {
  if (fd_ >= 0) {
    if (streaming_) {
      int type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
      xioctl(fd_, VIDIOC_STREAMOFF, &type);
    }
    unmapAll();
    ::close(fd_);
    fd_ = -1;
  }
  streaming_ = false;
  if (tj_) {
    tjDestroy(tj_);
    tj_ = nullptr;
  }
}

int Device::fdOrThrow(Napi::Env env, const char* op) const {
  if (fd_ < 0) throwErrno(env, EBADF, op, path_);
  return fd_;
}

Napi::Value Device::CloseImpl(const Napi::CallbackInfo& info) {
  release();
  registry_->open.erase(this);
  return info.Env().Undefined();
}

Napi::Value Device::QueryCapImpl(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  v4l2_capability cap{};
  if (xioctl(fdOrThrow(env, "VIDIOC_QUERYCAP"), VIDIOC_QUERYCAP, &cap) < 0) throwErrno(env, errno, "VIDIOC_QUERYCAP", path_);
  Napi::Object o = Napi::Object::New(env);
  o.Set("driver", cstr(cap.driver, sizeof cap.driver));
  o.Set("card", cstr(cap.card, sizeof cap.card));
  o.Set("busInfo", cstr(cap.bus_info, sizeof cap.bus_info));
  o.Set("version", Napi::Number::New(env, cap.version));
  o.Set("capabilities", Napi::Number::New(env, cap.capabilities));
  o.Set("deviceCaps", Napi::Number::New(env, (cap.capabilities & V4L2_CAP_DEVICE_CAPS) ? cap.device_caps : cap.capabilities));
  return o;
}

Napi::Value Device::EnumFormatsImpl(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = fdOrThrow(env, "VIDIOC_ENUM_FMT");
  Napi::Array out = Napi::Array::New(env);
  for (uint32_t i = 0;; i++) {
    v4l2_fmtdesc d{};
    d.index = i;
    d.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
    if (xioctl(fd, VIDIOC_ENUM_FMT, &d) < 0) {
      if (errno == EINVAL) break;  // end of list
      throwErrno(env, errno, "VIDIOC_ENUM_FMT", path_);
    }
    Napi::Object o = Napi::Object::New(env);
    o.Set("fourcc", Napi::Number::New(env, d.pixelformat));
    o.Set("description", cstr(d.description, sizeof d.description));
    o.Set("flags", Napi::Number::New(env, d.flags));
    out.Set(i, o);
  }
  return out;
}

Napi::Value Device::EnumFrameSizesImpl(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = fdOrThrow(env, "VIDIOC_ENUM_FRAMESIZES");
  uint32_t fmt = info[0].As<Napi::Number>().Uint32Value();
  Napi::Array out = Napi::Array::New(env);
  for (uint32_t i = 0;; i++) {
    v4l2_frmsizeenum s{};
    s.index = i;
    s.pixel_format = fmt;
    if (xioctl(fd, VIDIOC_ENUM_FRAMESIZES, &s) < 0) {
      if (errno == EINVAL || errno == ENOTTY) break;
      throwErrno(env, errno, "VIDIOC_ENUM_FRAMESIZES", path_);
    }
    Napi::Object o = Napi::Object::New(env);
    if (s.type == V4L2_FRMSIZE_TYPE_DISCRETE) {
      o.Set("type", "discrete");
      o.Set("width", s.discrete.width);
      o.Set("height", s.discrete.height);
    } else {
      o.Set("type", s.type == V4L2_FRMSIZE_TYPE_CONTINUOUS ? "continuous" : "stepwise");
      o.Set("minWidth", s.stepwise.min_width);
      o.Set("maxWidth", s.stepwise.max_width);
      o.Set("stepWidth", s.stepwise.step_width);
      o.Set("minHeight", s.stepwise.min_height);
      o.Set("maxHeight", s.stepwise.max_height);
      o.Set("stepHeight", s.stepwise.step_height);
    }
    out.Set(i, o);
    if (s.type != V4L2_FRMSIZE_TYPE_DISCRETE) break;  // stepwise/continuous: one entry only
  }
  return out;
}

static Napi::Object fraction(Napi::Env env, const v4l2_fract& f) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("num", f.numerator);
  o.Set("den", f.denominator);
  return o;
}

Napi::Value Device::EnumFrameIntervalsImpl(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = fdOrThrow(env, "VIDIOC_ENUM_FRAMEINTERVALS");
  Napi::Array out = Napi::Array::New(env);
  for (uint32_t i = 0;; i++) {
    v4l2_frmivalenum v{};
    v.index = i;
    v.pixel_format = info[0].As<Napi::Number>().Uint32Value();
    v.width = info[1].As<Napi::Number>().Uint32Value();
    v.height = info[2].As<Napi::Number>().Uint32Value();
    if (xioctl(fd, VIDIOC_ENUM_FRAMEINTERVALS, &v) < 0) {
      if (errno == EINVAL || errno == ENOTTY) break;
      throwErrno(env, errno, "VIDIOC_ENUM_FRAMEINTERVALS", path_);
    }
    Napi::Object o = Napi::Object::New(env);
    if (v.type == V4L2_FRMIVAL_TYPE_DISCRETE) {
      o.Set("type", "discrete");
      o.Set("num", v.discrete.numerator);
      o.Set("den", v.discrete.denominator);
    } else {
      o.Set("type", v.type == V4L2_FRMIVAL_TYPE_CONTINUOUS ? "continuous" : "stepwise");
      o.Set("min", fraction(env, v.stepwise.min));
      o.Set("max", fraction(env, v.stepwise.max));
      o.Set("step", fraction(env, v.stepwise.step));
    }
    out.Set(i, o);
    if (v.type != V4L2_FRMIVAL_TYPE_DISCRETE) break;
  }
  return out;
}

// Every control (VIDIOC_QUERYCTRL with NEXT_CTRL), menus expanded with VIDIOC_QUERYMENU.
Napi::Value Device::QueryControlsImpl(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = fdOrThrow(env, "VIDIOC_QUERYCTRL");
  Napi::Array out = Napi::Array::New(env);
  uint32_t n = 0;
  v4l2_queryctrl q{};
  q.id = V4L2_CTRL_FLAG_NEXT_CTRL;
  while (xioctl(fd, VIDIOC_QUERYCTRL, &q) == 0) {
    Napi::Object o = Napi::Object::New(env);
    o.Set("id", Napi::Number::New(env, q.id));
    o.Set("name", cstr(q.name, sizeof q.name));
    o.Set("type", Napi::Number::New(env, q.type));
    o.Set("min", Napi::Number::New(env, q.minimum));
    o.Set("max", Napi::Number::New(env, q.maximum));
    o.Set("step", Napi::Number::New(env, q.step));
    o.Set("default", Napi::Number::New(env, q.default_value));
    o.Set("flags", Napi::Number::New(env, q.flags));
    if (q.type == V4L2_CTRL_TYPE_MENU || q.type == V4L2_CTRL_TYPE_INTEGER_MENU) {
      Napi::Array items = Napi::Array::New(env);
      uint32_t k = 0;
      for (int64_t idx = q.minimum; idx <= q.maximum; idx++) {
        v4l2_querymenu m{};
        m.id = q.id;
        m.index = uint32_t(idx);
        if (xioctl(fd, VIDIOC_QUERYMENU, &m) < 0) continue;  // gaps in a menu are normal
        Napi::Object it = Napi::Object::New(env);
        it.Set("index", Napi::Number::New(env, double(idx)));
        if (q.type == V4L2_CTRL_TYPE_MENU) it.Set("name", cstr(m.name, sizeof m.name));
        else it.Set("name", std::to_string(m.value));
        items.Set(k++, it);
      }
      o.Set("menu", items);
    }
    out.Set(n++, o);
    q.id |= V4L2_CTRL_FLAG_NEXT_CTRL;
  }
  if (errno != EINVAL && errno != ENOTTY && n == 0) throwErrno(env, errno, "VIDIOC_QUERYCTRL", path_);
  return out;
}

// getControl(id, is64): extended-control API (works for every control class), G_CTRL as a fallback.
Napi::Value Device::GetControlImpl(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = fdOrThrow(env, "VIDIOC_G_EXT_CTRLS");
  uint32_t id = info[0].As<Napi::Number>().Uint32Value();
  bool is64 = info.Length() > 1 && info[1].ToBoolean();
  v4l2_ext_control c{};
  c.id = id;
  v4l2_ext_controls cs{};
  cs.which = V4L2_CTRL_ID2WHICH(id);
  cs.count = 1;
  cs.controls = &c;
  if (xioctl(fd, VIDIOC_G_EXT_CTRLS, &cs) == 0) return Napi::Number::New(env, is64 ? double(c.value64) : double(c.value));
  int err = errno;
  if (!is64 && (err == EINVAL || err == ENOTTY)) {
    v4l2_control old{};
    old.id = id;
    if (xioctl(fd, VIDIOC_G_CTRL, &old) == 0) return Napi::Number::New(env, old.value);
    err = errno;
  }
  throwErrno(env, err, "VIDIOC_G_EXT_CTRLS", path_);
}

Napi::Value Device::SetControlImpl(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = fdOrThrow(env, "VIDIOC_S_EXT_CTRLS");
  uint32_t id = info[0].As<Napi::Number>().Uint32Value();
  double value = info[1].As<Napi::Number>().DoubleValue();
  bool is64 = info.Length() > 2 && info[2].ToBoolean();
  v4l2_ext_control c{};
  c.id = id;
  if (is64) c.value64 = int64_t(value);
  else c.value = int32_t(value);
  v4l2_ext_controls cs{};
  cs.which = V4L2_CTRL_ID2WHICH(id);
  cs.count = 1;
  cs.controls = &c;
  if (xioctl(fd, VIDIOC_S_EXT_CTRLS, &cs) == 0) return env.Undefined();
  int err = errno;
  if (!is64 && (err == EINVAL || err == ENOTTY)) {
    v4l2_control old{};
    old.id = id;
    old.value = int32_t(value);
    if (xioctl(fd, VIDIOC_S_CTRL, &old) == 0) return env.Undefined();
    err = errno;
  }
  throwErrno(env, err, "VIDIOC_S_EXT_CTRLS", path_);
}

Napi::Object Device::formatObject(Napi::Env env, const void* p) const {
  const auto* f = static_cast<const v4l2_format*>(p);
  Napi::Object o = Napi::Object::New(env);
  o.Set("fourcc", Napi::Number::New(env, f->fmt.pix.pixelformat));
  o.Set("width", f->fmt.pix.width);
  o.Set("height", f->fmt.pix.height);
  o.Set("bytesPerLine", f->fmt.pix.bytesperline);
  o.Set("sizeImage", f->fmt.pix.sizeimage);
  o.Set("field", f->fmt.pix.field);
  o.Set("colorspace", f->fmt.pix.colorspace);
  return o;
}

Napi::Value Device::GetFormatImpl(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  v4l2_format f{};
  f.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
  if (xioctl(fdOrThrow(env, "VIDIOC_G_FMT"), VIDIOC_G_FMT, &f) < 0) throwErrno(env, errno, "VIDIOC_G_FMT", path_);
  return formatObject(env, &f);
}

// setFormat(fourcc, width, height): S_FMT, returns what the driver actually chose (it may adjust).
Napi::Value Device::SetFormatImpl(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = fdOrThrow(env, "VIDIOC_S_FMT");
  if (streaming_) throwErrno(env, EBUSY, "VIDIOC_S_FMT", path_);
  v4l2_format f{};
  f.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
  f.fmt.pix.pixelformat = info[0].As<Napi::Number>().Uint32Value();
  f.fmt.pix.width = info[1].As<Napi::Number>().Uint32Value();
  f.fmt.pix.height = info[2].As<Napi::Number>().Uint32Value();
  f.fmt.pix.field = V4L2_FIELD_NONE;
  if (xioctl(fd, VIDIOC_S_FMT, &f) < 0) throwErrno(env, errno, "VIDIOC_S_FMT", path_);
  fourcc_ = f.fmt.pix.pixelformat;
  width_ = int(f.fmt.pix.width);
  height_ = int(f.fmt.pix.height);
  stride_ = int(f.fmt.pix.bytesperline);
  return formatObject(env, &f);
}

Napi::Value Device::GetFrameIntervalImpl(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  v4l2_streamparm p{};
  p.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
  if (xioctl(fdOrThrow(env, "VIDIOC_G_PARM"), VIDIOC_G_PARM, &p) < 0) {
    if (errno == ENOTTY || errno == EINVAL) return env.Null();
    throwErrno(env, errno, "VIDIOC_G_PARM", path_);
  }
  if (!(p.parm.capture.capability & V4L2_CAP_TIMEPERFRAME) || p.parm.capture.timeperframe.denominator == 0) return env.Null();
  return fraction(env, p.parm.capture.timeperframe);
}

// setFrameInterval(num, den): S_PARM; returns the interval the driver chose, or null if it has no such control.
Napi::Value Device::SetFrameIntervalImpl(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = fdOrThrow(env, "VIDIOC_S_PARM");
  v4l2_streamparm p{};
  p.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
  p.parm.capture.timeperframe.numerator = info[0].As<Napi::Number>().Uint32Value();
  p.parm.capture.timeperframe.denominator = info[1].As<Napi::Number>().Uint32Value();
  if (xioctl(fd, VIDIOC_S_PARM, &p) < 0) {
    if (errno == ENOTTY || errno == EINVAL) return env.Null();
    throwErrno(env, errno, "VIDIOC_S_PARM", path_);
  }
  if (p.parm.capture.timeperframe.denominator == 0) return env.Null();
  return fraction(env, p.parm.capture.timeperframe);
}

// startStreaming(count): REQBUFS + QUERYBUF/mmap + QBUF all + STREAMON. Returns the buffer count granted.
Napi::Value Device::StartStreamingImpl(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = fdOrThrow(env, "VIDIOC_REQBUFS");
  if (streaming_) throwErrno(env, EBUSY, "VIDIOC_STREAMON", path_);
  if (fourcc_ == 0) {  // no S_FMT in this open: learn the current format
    v4l2_format f{};
    f.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
    if (xioctl(fd, VIDIOC_G_FMT, &f) < 0) throwErrno(env, errno, "VIDIOC_G_FMT", path_);
    fourcc_ = f.fmt.pix.pixelformat;
    width_ = int(f.fmt.pix.width);
    height_ = int(f.fmt.pix.height);
    stride_ = int(f.fmt.pix.bytesperline);
  }
  v4l2_requestbuffers req{};
  req.count = info[0].As<Napi::Number>().Uint32Value();
  req.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
  req.memory = V4L2_MEMORY_MMAP;
  if (xioctl(fd, VIDIOC_REQBUFS, &req) < 0) throwErrno(env, errno, "VIDIOC_REQBUFS", path_);
  if (req.count == 0) throwErrno(env, ENOMEM, "VIDIOC_REQBUFS", path_);
  auto fail = [&](int err, const char* op) {
    unmapAll();
    v4l2_requestbuffers none{};
    none.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
    none.memory = V4L2_MEMORY_MMAP;
    xioctl(fd, VIDIOC_REQBUFS, &none);
    throwErrno(env, err, op, path_);
  };
  buffers_.assign(req.count, Mapping{});
  for (uint32_t i = 0; i < req.count; i++) {
    v4l2_buffer b{};
    b.index = i;
    b.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
    b.memory = V4L2_MEMORY_MMAP;
    if (xioctl(fd, VIDIOC_QUERYBUF, &b) < 0) fail(errno, "VIDIOC_QUERYBUF");
    void* a = mmap(nullptr, b.length, PROT_READ | PROT_WRITE, MAP_SHARED, fd, b.m.offset);
    if (a == MAP_FAILED) fail(errno, "mmap");
    buffers_[i] = Mapping{a, b.length};
    if (xioctl(fd, VIDIOC_QBUF, &b) < 0) fail(errno, "VIDIOC_QBUF");
  }
  int type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
  if (xioctl(fd, VIDIOC_STREAMON, &type) < 0) fail(errno, "VIDIOC_STREAMON");
  if (!tj_ && (fourcc_ == FMT_MJPG || fourcc_ == FMT_JPEG)) tj_ = tjInitDecompress();
  streaming_ = true;
  return Napi::Number::New(env, req.count);
}

Napi::Value Device::StopStreamingImpl(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (fd_ < 0 || !streaming_) return env.Undefined();
  int type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
  int err = xioctl(fd_, VIDIOC_STREAMOFF, &type) < 0 ? errno : 0;
  streaming_ = false;
  unmapAll();
  v4l2_requestbuffers none{};
  none.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
  none.memory = V4L2_MEMORY_MMAP;
  xioctl(fd_, VIDIOC_REQBUFS, &none);
  if (err && !isGone(err)) throwErrno(env, err, "VIDIOC_STREAMOFF", path_);
  return env.Undefined();
}

// waitReadable(timeoutMs ≤ 50): "ready", "timeout", or the errno name when the device went away.
Napi::Value Device::WaitReadableImpl(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = fdOrThrow(env, "poll");
  int timeout = std::clamp(info[0].As<Napi::Number>().Int32Value(), 0, 50);
  pollfd p{fd, POLLIN, 0};
  int r;
  do r = poll(&p, 1, timeout);
  while (r < 0 && errno == EINTR);
  if (r < 0) throwErrno(env, errno, "poll", path_);
  if (r == 0) return Napi::String::New(env, "timeout");
  if (p.revents & POLLIN) return Napi::String::New(env, "ready");
  // POLLERR/POLLHUP: ask the driver why with a DQBUF (returns ENODEV when unplugged).
  return Napi::String::New(env, "ready");
}

// dequeueInto(dst: Uint8Array | null, outFourcc, timeoutMs): waits ≤ 50 ms for a filled buffer, converts or
// copies it in one pass into dst (null = discard), requeues it. Returns null on timeout,
// { disconnected: errnoName } when the device is gone, else the frame's metadata.
Napi::Value Device::DequeueIntoImpl(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = fdOrThrow(env, "VIDIOC_DQBUF");
  if (!streaming_) throwErrno(env, EINVAL, "VIDIOC_DQBUF (not streaming)", path_);
  uint8_t* dst = nullptr;
  size_t cap = 0;
  if (info[0].IsTypedArray()) {
    Napi::Uint8Array view = info[0].As<Napi::Uint8Array>();
    dst = view.Data();
    cap = view.ByteLength();
  }
  uint32_t out = info[1].IsNumber() ? info[1].As<Napi::Number>().Uint32Value() : 0;
  int timeout = info[2].IsNumber() ? std::clamp(info[2].As<Napi::Number>().Int32Value(), 0, 50) : 0;

  auto gone = [&](int err) {
    Napi::Object o = Napi::Object::New(env);
    o.Set("disconnected", errnoName(err));
    return o;
  };
  if (timeout > 0) {
    pollfd p{fd, POLLIN, 0};
    int r;
    do r = poll(&p, 1, timeout);
    while (r < 0 && errno == EINTR);
    if (r < 0) throwErrno(env, errno, "poll", path_);
    if (r == 0) return env.Null();
  }
  v4l2_buffer b{};
  b.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
  b.memory = V4L2_MEMORY_MMAP;
  if (xioctl(fd, VIDIOC_DQBUF, &b) < 0) {
    int err = errno;
    if (err == EAGAIN) return env.Null();
    if (isGone(err)) return gone(err);
    throwErrno(env, err, "VIDIOC_DQBUF", path_);
  }
  long n = 0;
  const char* jpegError = nullptr;
  if (b.index < buffers_.size() && dst) {
    const Mapping& m = buffers_[b.index];
    Frame src{static_cast<const uint8_t*>(m.addr), std::min<size_t>(b.bytesused, m.length), fourcc_, width_, height_, stride_};
    n = convertFrame(src, dst, cap, out, tj_, &jpegError);
  }
  Napi::Object o = Napi::Object::New(env);
  o.Set("bytes", Napi::Number::New(env, double(n)));
  if (n < 0) o.Set("error", Napi::Number::New(env, double(n)));
  if (jpegError) o.Set("jpegError", jpegError);
  o.Set("seq", Napi::Number::New(env, b.sequence));
  o.Set("tsNs", Napi::BigInt::New(env, static_cast<int64_t>(int64_t(b.timestamp.tv_sec) * 1000000000 + int64_t(b.timestamp.tv_usec) * 1000)));
  o.Set("tsFlags", Napi::Number::New(env, b.flags & (V4L2_BUF_FLAG_TIMESTAMP_MASK | V4L2_BUF_FLAG_TSTAMP_SRC_MASK)));
  o.Set("bufFlags", Napi::Number::New(env, b.flags));
  o.Set("bytesUsed", Napi::Number::New(env, b.bytesused));
  o.Set("width", width_);
  o.Set("height", height_);
  // Give the buffer back to the driver at once; a vanished device shows up on the next call.
  if (xioctl(fd, VIDIOC_QBUF, &b) < 0) {
    int err = errno;
    if (isGone(err)) o.Set("disconnected", errnoName(err));
    else throwErrno(env, err, "VIDIOC_QBUF", path_);
  }
  return o;
}

}  // namespace sf
