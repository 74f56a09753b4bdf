// Shared declarations of the senseflow ALSA addon. The addon is thin: it makes the snd_* calls and
// reports what happened; TypeScript validates options, computes timestamps and raises typed errors.
#pragma once

#include <alsa/asoundlib.h>
#include <napi.h>
#include <control.h>      // @senseflow/core: the worker's mailbox
#include <sample-ring.h>  // @senseflow/core: the native sample-ring writer

#include <poll.h>

#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace sf {

// One open capture PCM and what was negotiated for it.
struct Pcm {
  snd_pcm_t* handle = nullptr;
  unsigned rate = 0;
  unsigned channels = 0;
  size_t bytesPerFrame = 0;
  snd_pcm_uframes_t periodFrames = 0;
  snd_pcm_uframes_t bufferFrames = 0;
  // The PCM's poll descriptors, fetched once at open (a read only waits on them, no allocation per read).
  std::vector<pollfd> fds;
  // Frames the device still held right after the last read (snd_pcm_htimestamp): when fewer than a read
  // wants, the next read goes straight to poll() instead of asking snd_pcm_avail_update() first.
  snd_pcm_uframes_t leftAfterRead = 0;
};

// alsa-lib's global configuration tree (snd_config) is shared by every thread of the process; opening
// PCMs and reading name hints update it, so those calls are serialized across workers.
std::mutex& ConfigMutex();

// Routes alsa-lib's stderr diagnostics into a per-thread "last message" attached to thrown errors.
void InstallErrorHandler();
void ClearAlsaMessage();

// "EBUSY" for EBUSY, … (positive errno).
std::string ErrnoName(int err);

// A JS Error carrying `errno` (name), `errnoNumber`, `op` and `device`, for TypeScript to type.
Napi::Error AlsaError(Napi::Env env, const std::string& op, int err, const std::string& device);

// Enumeration (enumerate.cc).
Napi::Value NameHints(const Napi::CallbackInfo& info);
Napi::Value Cards(const Napi::CallbackInfo& info);
Napi::Value Probe(const Napi::CallbackInfo& info);

// PCM lifetime (pcm.cc). Ownership stays with the per-environment table in addon.cc.
Pcm* OpenPcm(Napi::Env env, const std::string& device, unsigned rate, unsigned channels,
             const std::string& format, unsigned long periodFrames, unsigned long bufferFrames);
void ClosePcm(Pcm* p);
int StartPcm(Pcm* p);
int StopPcm(Pcm* p);

// Result codes of ReadPcm besides a frame count (>= 0).
constexpr int kReadXrun = -1;          // overrun/suspend: recovered and restarted; loss is in the stamps
constexpr int kReadDisconnected = -2;  // device gone or stream broken: out[kOutErrno] says why

// Slots of the `out` array filled by ReadPcm and CapturePcm: 8 bytes each, a double unless marked int64 (times in
// CLOCK_MONOTONIC ns, read through a BigInt64Array over the same memory: no sec/nsec → BigInt arithmetic in JS).
enum ReadOut {
  kOutTsNs = 0,         // int64: snd_pcm_htimestamp(), time of the last hw pointer update; 0 when the PCM gave none
  kOutAvail = 1,        // frames captured but not yet read, at that timestamp
  kOutDelay = 2,        // snd_pcm_delay() after the read (includes hardware FIFO delay), -1 if unknown
  kOutNowNs = 3,        // int64: CLOCK_MONOTONIC right after the read
  kOutErrno = 4,        // errno of an xrun/disconnect
  kOutXrunNs = 5,       // int64: for an xrun, when the driver stopped (status trigger timestamp), else 0
  kOutChunks = 6,       // CapturePcm: chunks committed
  kOutFrames = 7,       // CapturePcm: frames committed
  kOutFallbacks = 8,    // CapturePcm: chunks stamped from the receive clock (TIMESTAMP_FALLBACK)
  kOutCaptureNs = 9,    // int64, CapturePcm: capture time of the last chunk read (committed or held)
  kOutLastFrames = 10,  // CapturePcm: frames of that chunk
  kOutFlagsLeft = 11,   // CapturePcm: the flags it was given that no committed chunk carried
  kOutCount = 12
};
// Waits (≤ timeoutMs) until `frames` frames are there, then reads all that are, up to maxFrames: a
// reader that woke late takes the periods that piled up in one call instead of one call per period.
int ReadPcm(Pcm* p, uint8_t* dst, snd_pcm_uframes_t frames, snd_pcm_uframes_t maxFrames, int timeoutMs, double* out);

// Capture time of the first of `frames` frames just read (see src/timestamps.ts for the ALSA semantics): the
// driver stamp back-dated by the frames waiting and the chunk, or — when the stamp is missing, in the future
// or more than maxLagNs old — the receive time back-dated by the delay, with `fallback` set.
struct ChunkTime {
  int64_t captureNs;
  bool fallback;
};
ChunkTime ChunkCaptureTime(int64_t tsNs, int64_t availFrames, int64_t delayFrames, int64_t nowNs, int64_t frames,
                           unsigned rate, int64_t maxLagNs);
// `frames` at `rate` in ns, rounded (as framesToNs in src/timestamps.ts).
int64_t FramesToNs(int64_t frames, unsigned rate);

// Results of CapturePcm besides those of ReadPcm (0: a read timed out with no data, kReadXrun, kReadDisconnected).
constexpr int kCaptureDone = 1;  // the deadline passed, or a control message waits for the worker
constexpr int kCaptureWake = 2;  // a reader sleeps on the ring: JavaScript wakes it, then calls again
constexpr int kCaptureHeld = 3;  // one chunk read and stamped but not committed (commitFirst false): the caller
                                 // settles the loss before it, then commits it at the same ring position
// The capture loop without JavaScript per chunk: reserves ring space, reads a period (up to maxFrames) straight
// into it, stamps it and commits it, until CLOCK_MONOTONIC passes deadlineMs, a control message waits in
// `mailbox` (may be null), a read brings no data, or a reader waits. `flags` go on the first committed chunk.
// Counts and the last chunk's time go to `out`.
int CapturePcm(Pcm* p, senseflow::ring::SampleRingWriter& ring, const int32_t* mailbox, uint32_t maxFrames,
               int timeoutMs, double deadlineMs, bool commitFirst, int32_t flags, double* out);

}  // namespace sf
