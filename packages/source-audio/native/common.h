// Shared declarations of the senseflow ALSA addon. The addon is thin: it makes the snd_* calls and
// reports what happened; TypeScript validates options, computes timestamps and raises typed errors.
#pragma once

#include <alsa/asoundlib.h>
#include <napi.h>

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

// Slots of the `out` array filled by ReadPcm: 8 bytes each, a double unless marked int64 (times in CLOCK_MONOTONIC
// ns, read through a BigInt64Array over the same memory: no sec/nsec → BigInt arithmetic per chunk in JS).
enum ReadOut {
  kOutTsNs = 0,    // int64: snd_pcm_htimestamp(), time of the last hw pointer update; 0 when the PCM gave none
  kOutAvail = 1,   // frames captured but not yet read, at that timestamp
  kOutDelay = 2,   // snd_pcm_delay() after the read (includes hardware FIFO delay), -1 if unknown
  kOutNowNs = 3,   // int64: CLOCK_MONOTONIC right after the read
  kOutErrno = 4,   // errno of an xrun/disconnect
  kOutXrunNs = 5,  // int64: for an xrun, when the driver stopped (status trigger timestamp), else 0
  kOutCount = 6
};
// Waits (≤ timeoutMs) until `frames` frames are there, then reads all that are, up to maxFrames: a
// reader that woke late takes the periods that piled up in one call instead of one call per period.
int ReadPcm(Pcm* p, uint8_t* dst, snd_pcm_uframes_t frames, snd_pcm_uframes_t maxFrames, int timeoutMs, double* out);

}  // namespace sf
