// Module entry: one Addon instance per Node environment (main thread or worker), holding that
// environment's open PCMs. A worker's exit runs the cleanup hook, which closes whatever it left open.
#include <algorithm>

#include "common.h"

namespace sf {

class AlsaAddon : public Napi::Addon<AlsaAddon> {
 public:
  AlsaAddon(Napi::Env env, Napi::Object exports) {
    DefineAddon(exports, {
                             InstanceMethod("open", &AlsaAddon::Open),
                             InstanceMethod("start", &AlsaAddon::Start),
                             InstanceMethod("stop", &AlsaAddon::Stop),
                             InstanceMethod("target", &AlsaAddon::Target),
                             InstanceMethod("read", &AlsaAddon::Read),
                             InstanceMethod("capture", &AlsaAddon::Capture),
                             InstanceMethod("chunkTime", &AlsaAddon::ChunkTimeOf),
                             InstanceMethod("close", &AlsaAddon::Close),
                             InstanceMethod("openCount", &AlsaAddon::OpenCount),
                             InstanceMethod("nameHints", &AlsaAddon::Hints),
                             InstanceMethod("cards", &AlsaAddon::CardList),
                             InstanceMethod("probe", &AlsaAddon::ProbeDevice),
                             InstanceMethod("errnoName", &AlsaAddon::ErrnoNameOf),
                         });
    exports.Set("alsaVersion", Napi::String::New(env, snd_asoundlib_version()));
    exports.Set("readOutSlots", Napi::Number::New(env, kOutCount));
    InstallErrorHandler();
    // A worker's exit (or a terminate()) runs this before the environment goes away.
    env_ = env;
    napi_add_env_cleanup_hook(env, &AlsaAddon::OnCleanup, this);
  }
  ~AlsaAddon() {
    napi_remove_env_cleanup_hook(env_, &AlsaAddon::OnCleanup, this);
    CloseAll();
  }

 private:
  // Where a PCM's reads land, set once by target(): the per-read call then carries numbers only (typed-array
  // lookups and node-addon-api's heap-allocated argument list for more than 6 arguments were a measurable share
  // of a 64-frame read). The references keep both buffers alive while the PCM may write into them.
  struct ReadTarget {
    Napi::Reference<Napi::Uint8Array> mem;
    Napi::Reference<Napi::Float64Array> out;
    uint8_t* data = nullptr;
    size_t length = 0;
    double* outData = nullptr;
    // When `mem` is a whole sample ring: its writer, for capture().
    senseflow::ring::SampleRingWriter ring{nullptr, 0};
    // The worker's mailbox (SourceContext.mailbox), when given: capture() returns when a control message waits.
    Napi::Reference<Napi::Int32Array> mailbox;
    const int32_t* mailboxData = nullptr;
  };
  std::unordered_map<int32_t, Pcm*> pcms_;
  std::unordered_map<int32_t, ReadTarget> targets_;
  int32_t nextId_ = 1;
  napi_env env_ = nullptr;

  static void OnCleanup(void* self) { static_cast<AlsaAddon*>(self)->CloseAll(); }

  void CloseAll() {
    for (auto& kv : pcms_) ClosePcm(kv.second);
    pcms_.clear();
    targets_.clear();
  }

  Pcm* Get(const Napi::CallbackInfo& info) {
    int32_t id = info[0].As<Napi::Number>().Int32Value();
    auto it = pcms_.find(id);
    if (it == pcms_.end()) throw AlsaError(info.Env(), "pcm", EBADF, "#" + std::to_string(id));
    return it->second;
  }

  // open(device, rate, channels, format, periodFrames, bufferFrames) → { id, rate, channels, periodFrames, bufferFrames, bytesPerFrame }
  Napi::Value Open(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    std::string dev = info[0].As<Napi::String>();
    Pcm* p = OpenPcm(env, dev, info[1].As<Napi::Number>().Uint32Value(), info[2].As<Napi::Number>().Uint32Value(),
                     info[3].As<Napi::String>(), info[4].As<Napi::Number>().Uint32Value(),
                     info[5].As<Napi::Number>().Uint32Value());
    int32_t id = nextId_++;
    pcms_[id] = p;
    Napi::Object o = Napi::Object::New(env);
    o.Set("id", id);
    o.Set("rate", p->rate);
    o.Set("channels", p->channels);
    o.Set("periodFrames", double(p->periodFrames));
    o.Set("bufferFrames", double(p->bufferFrames));
    o.Set("bytesPerFrame", double(p->bytesPerFrame));
    o.Set("pcmType", snd_pcm_type_name(snd_pcm_type(p->handle)));
    return o;
  }

  Napi::Value Start(const Napi::CallbackInfo& info) {
    int rc = StartPcm(Get(info));
    if (rc < 0) throw AlsaError(info.Env(), "snd_pcm_start", rc, "pcm");
    return info.Env().Undefined();
  }

  Napi::Value Stop(const Napi::CallbackInfo& info) {
    StopPcm(Get(info));
    return info.Env().Undefined();
  }

  // target(id, mem: Uint8Array (over the ring's SharedArrayBuffer), out: Float64Array of kOutCount slots,
  // mailbox?: Int32Array(2)): where the following reads write their frames and stamps.
  Napi::Value Target(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    int32_t id = info[0].As<Napi::Number>().Int32Value();
    Get(info);
    Napi::Uint8Array mem = info[1].As<Napi::Uint8Array>();
    Napi::Float64Array out = info[2].As<Napi::Float64Array>();
    if (out.ElementLength() < size_t(kOutCount)) throw AlsaError(env, "target: out array too short", EINVAL, "pcm");
    ReadTarget& t = targets_[id];
    t.mem = Napi::Persistent(mem);
    t.out = Napi::Persistent(out);
    t.data = mem.Data();
    t.length = mem.ByteLength();
    t.outData = out.Data();
    t.ring = senseflow::ring::SampleRingWriter(t.data, t.length);
    t.mailboxData = nullptr;
    t.mailbox.Reset();
    if (info.Length() > 3 && info[3].IsTypedArray()) {
      Napi::Int32Array m = info[3].As<Napi::Int32Array>();
      if (m.ElementLength() < 2) throw AlsaError(env, "target: mailbox shorter than 2 words", EINVAL, "pcm");
      t.mailbox = Napi::Persistent(m);
      t.mailboxData = m.Data();
    }
    return env.Undefined();
  }

  // capture(id, maxFrames, timeoutMs, deadlineMs, commitFirst, flags) → CapturePcm's result (see common.h), into
  // the sample ring given to target() (the whole ring, not a region). Reads, stamps and commits until
  // CLOCK_MONOTONIC passes deadlineMs, a read brings no data, or a reader waits.
  Napi::Value Capture(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Pcm* p = Get(info);
    auto it = targets_.find(info[0].As<Napi::Number>().Int32Value());
    if (it == targets_.end() || !it->second.ring.Valid())
      throw AlsaError(env, "capture: the target is not a sample ring of this version (call target() with the whole ring)", EINVAL, "pcm");
    ReadTarget& t = it->second;
    if (t.ring.BytesPerFrame() != p->bytesPerFrame) throw AlsaError(env, "capture: the ring's frame size differs from the PCM's", EINVAL, "pcm");
    uint32_t maxFrames = info[1].As<Napi::Number>().Uint32Value();
    if (maxFrames < 1) maxFrames = 1;
    int timeoutMs = std::min(1000, std::max(0, info[2].As<Napi::Number>().Int32Value()));
    double deadlineMs = info[3].As<Napi::Number>().DoubleValue();
    bool commitFirst = info[4].As<Napi::Boolean>().Value();
    int32_t flags = info[5].As<Napi::Number>().Int32Value();
    return Napi::Number::New(env, CapturePcm(p, t.ring, t.mailboxData, maxFrames, timeoutMs, deadlineMs, commitFirst, flags, t.outData));
  }

  // chunkTime(tsNs, availFrames, delayFrames, nowNs, frames, rate, maxLagNs) → { captureNs, fallback }: the
  // arithmetic capture() stamps chunks with (times as BigInt ns), for chunkCaptureTime() and its tests.
  Napi::Value ChunkTimeOf(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    bool lossless;
    auto ns = [&](int i) { return info[i].As<Napi::BigInt>().Int64Value(&lossless); };
    auto num = [&](int i) { return int64_t(info[i].As<Napi::Number>().DoubleValue()); };
    ChunkTime t = ChunkCaptureTime(ns(0), num(1), num(2), ns(3), num(4), info[5].As<Napi::Number>().Uint32Value(), ns(6));
    Napi::Object o = Napi::Object::New(env);
    o.Set("captureNs", Napi::BigInt::New(env, t.captureNs));
    o.Set("fallback", t.fallback);
    return o;
  }

  // read(id, byteOffset, frames, timeoutMs, maxFrames) → frames read (≥ 0), -1 xrun (recovered), -2 disconnected.
  // Into the memory given to target() at byteOffset, stamps into its `out`. Blocks at most timeoutMs for
  // `frames`, then reads all there is up to maxFrames.
  Napi::Value Read(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Pcm* p = Get(info);
    auto it = targets_.find(info[0].As<Napi::Number>().Int32Value());
    if (it == targets_.end()) throw AlsaError(env, "read: no target (call target() first)", EINVAL, "pcm");
    const ReadTarget& t = it->second;
    double off = info[1].As<Napi::Number>().DoubleValue();
    double frames = info[2].As<Napi::Number>().DoubleValue();
    int timeoutMs = info[3].As<Napi::Number>().Int32Value();
    double maxFrames = info[4].As<Napi::Number>().DoubleValue();
    if (!(maxFrames >= frames)) maxFrames = frames;
    if (!(off >= 0) || !(frames >= 1) || off + maxFrames * p->bytesPerFrame > double(t.length))
      throw AlsaError(env, "read: region outside the buffer", ERANGE, "pcm");
    if (timeoutMs < 0) timeoutMs = 0;
    if (timeoutMs > 1000) timeoutMs = 1000;
    int rc = ReadPcm(p, t.data + size_t(off), snd_pcm_uframes_t(frames), snd_pcm_uframes_t(maxFrames), timeoutMs, t.outData);
    return Napi::Number::New(env, rc);
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    int32_t id = info[0].As<Napi::Number>().Int32Value();
    auto it = pcms_.find(id);
    if (it != pcms_.end()) {  // idempotent
      ClosePcm(it->second);
      pcms_.erase(it);
    }
    targets_.erase(id);
    return info.Env().Undefined();
  }

  Napi::Value ErrnoNameOf(const Napi::CallbackInfo& info) {
    return Napi::String::New(info.Env(), ErrnoName(info[0].As<Napi::Number>().Int32Value()));
  }
  Napi::Value OpenCount(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), double(pcms_.size())); }
  Napi::Value Hints(const Napi::CallbackInfo& info) { return NameHints(info); }
  Napi::Value CardList(const Napi::CallbackInfo& info) { return Cards(info); }
  Napi::Value ProbeDevice(const Napi::CallbackInfo& info) { return Probe(info); }
};

}  // namespace sf

using sf::AlsaAddon;
NODE_API_ADDON(AlsaAddon)
