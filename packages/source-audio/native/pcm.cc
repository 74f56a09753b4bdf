// Capture PCM: open + negotiate, start/stop, and a read that lands straight in the caller's memory.
#include <time.h>

#include <algorithm>
#include <cstring>

#include "common.h"

namespace sf {

namespace {

snd_pcm_format_t FormatOf(const std::string& f) {
  if (f == "s16le") return SND_PCM_FORMAT_S16_LE;
  if (f == "s32le") return SND_PCM_FORMAT_S32_LE;
  if (f == "f32le") return SND_PCM_FORMAT_FLOAT_LE;
  return SND_PCM_FORMAT_UNKNOWN;
}

// Stores a timespec as int64 ns in an int64 slot of `out` (see enum ReadOut).
void PutNs(double* out, int slot, const timespec& t) {
  const int64_t ns = int64_t(t.tv_sec) * 1000000000 + t.tv_nsec;
  std::memcpy(&out[slot], &ns, sizeof ns);
}

int64_t GetNs(const double* out, int slot) {
  int64_t ns;
  std::memcpy(&ns, &out[slot], sizeof ns);
  return ns;
}

void PutI64(double* out, int slot, int64_t v) { std::memcpy(&out[slot], &v, sizeof v); }

int64_t NowMs() {
  timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return int64_t(t.tv_sec) * 1000 + t.tv_nsec / 1000000;
}

// Closes the handle and throws a typed-by-errno error naming the failed step.
[[noreturn]] void Fail(Napi::Env env, snd_pcm_t* h, const char* op, int err, const std::string& dev) {
  if (h) snd_pcm_close(h);
  throw AlsaError(env, op, err, dev);
}

// After an overrun (-EPIPE) or a suspend (-ESTRPIPE): note when the driver stopped, then restart.
// Returns 0 when streaming again.
int Recover(Pcm* p, int err, double* out) {
  snd_pcm_status_t* st;
  snd_pcm_status_alloca(&st);
  snd_htimestamp_t t{0, 0};
  if (snd_pcm_status(p->handle, st) == 0) snd_pcm_status_get_trigger_htstamp(st, &t);  // the stop (xrun) moment
  PutNs(out, kOutXrunNs, t);
  int rc = 0;
  if (err == -ESTRPIPE) {
    rc = snd_pcm_resume(p->handle);  // non-blocking: -EAGAIN means "not yet", then we re-prepare
    if (rc == 0) return 0;
  }
  rc = snd_pcm_prepare(p->handle);
  if (rc < 0) return rc;
  return snd_pcm_start(p->handle);
}

}  // namespace

Pcm* OpenPcm(Napi::Env env, const std::string& dev, unsigned rate, unsigned channels, const std::string& format,
             unsigned long periodFrames, unsigned long bufferFrames) {
  snd_pcm_format_t fmt = FormatOf(format);
  if (fmt == SND_PCM_FORMAT_UNKNOWN) throw AlsaError(env, "format", EINVAL, dev);
  snd_pcm_t* h = nullptr;
  int rc;
  {
    std::lock_guard<std::mutex> lock(ConfigMutex());
    ClearAlsaMessage();
    // Non-blocking so a busy device fails now (EBUSY) instead of hanging the worker; reads poll with a timeout.
    rc = snd_pcm_open(&h, dev.c_str(), SND_PCM_STREAM_CAPTURE, SND_PCM_NONBLOCK);
  }
  if (rc < 0) Fail(env, nullptr, "snd_pcm_open", rc, dev);

  snd_pcm_hw_params_t* hw;
  snd_pcm_hw_params_alloca(&hw);
  if ((rc = snd_pcm_hw_params_any(h, hw)) < 0) Fail(env, h, "snd_pcm_hw_params_any", rc, dev);
  if ((rc = snd_pcm_hw_params_set_access(h, hw, SND_PCM_ACCESS_RW_INTERLEAVED)) < 0) Fail(env, h, "set_access", rc, dev);
  if ((rc = snd_pcm_hw_params_set_format(h, hw, fmt)) < 0) Fail(env, h, "set_format", rc, dev);
  if ((rc = snd_pcm_hw_params_set_channels(h, hw, channels)) < 0) Fail(env, h, "set_channels", rc, dev);
  // Exact rate: the ring and every timestamp assume it. (Plug devices may still resample to reach it.)
  if ((rc = snd_pcm_hw_params_set_rate(h, hw, rate, 0)) < 0) Fail(env, h, "set_rate", rc, dev);
  snd_pcm_uframes_t period = periodFrames, buffer = bufferFrames;
  int dir = 0;
  if ((rc = snd_pcm_hw_params_set_period_size_near(h, hw, &period, &dir)) < 0) Fail(env, h, "set_period_size", rc, dev);
  if ((rc = snd_pcm_hw_params_set_buffer_size_near(h, hw, &buffer)) < 0) Fail(env, h, "set_buffer_size", rc, dev);
  if ((rc = snd_pcm_hw_params(h, hw)) < 0) Fail(env, h, "snd_pcm_hw_params", rc, dev);
  snd_pcm_hw_params_get_period_size(hw, &period, &dir);
  snd_pcm_hw_params_get_buffer_size(hw, &buffer);

  snd_pcm_sw_params_t* sw;
  snd_pcm_sw_params_alloca(&sw);
  if ((rc = snd_pcm_sw_params_current(h, sw)) < 0) Fail(env, h, "snd_pcm_sw_params_current", rc, dev);
  // Driver timestamps on CLOCK_MONOTONIC, taken at every hw pointer update (what htimestamp returns).
  if ((rc = snd_pcm_sw_params_set_tstamp_mode(h, sw, SND_PCM_TSTAMP_ENABLE)) < 0) Fail(env, h, "set_tstamp_mode", rc, dev);
  if ((rc = snd_pcm_sw_params_set_tstamp_type(h, sw, SND_PCM_TSTAMP_TYPE_MONOTONIC)) < 0) Fail(env, h, "set_tstamp_type", rc, dev);
  if ((rc = snd_pcm_sw_params_set_avail_min(h, sw, period)) < 0) Fail(env, h, "set_avail_min", rc, dev);
  if ((rc = snd_pcm_sw_params_set_start_threshold(h, sw, buffer * 2)) < 0) Fail(env, h, "set_start_threshold", rc, dev);  // we start explicitly
  if ((rc = snd_pcm_sw_params_set_stop_threshold(h, sw, buffer)) < 0) Fail(env, h, "set_stop_threshold", rc, dev);  // full buffer = overrun
  if ((rc = snd_pcm_sw_params(h, sw)) < 0) Fail(env, h, "snd_pcm_sw_params", rc, dev);

  const int nfds = snd_pcm_poll_descriptors_count(h);
  if (nfds <= 0) Fail(env, h, "snd_pcm_poll_descriptors_count", nfds < 0 ? nfds : -EINVAL, dev);
  std::vector<pollfd> fds(nfds);
  if ((rc = snd_pcm_poll_descriptors(h, fds.data(), nfds)) < 0) Fail(env, h, "snd_pcm_poll_descriptors", rc, dev);

  Pcm* p = new Pcm();
  p->handle = h;
  p->fds = std::move(fds);
  p->rate = rate;
  p->channels = channels;
  p->bytesPerFrame = size_t(snd_pcm_format_physical_width(fmt) / 8) * channels;
  p->periodFrames = period;
  p->bufferFrames = buffer;
  return p;
}

void ClosePcm(Pcm* p) {
  if (!p) return;
  if (p->handle) {
    snd_pcm_drop(p->handle);
    snd_pcm_close(p->handle);
  }
  delete p;
}

int StartPcm(Pcm* p) {
  snd_pcm_state_t s = snd_pcm_state(p->handle);
  if (s == SND_PCM_STATE_RUNNING) return 0;
  int rc = 0;
  if (s != SND_PCM_STATE_PREPARED && (rc = snd_pcm_prepare(p->handle)) < 0) return rc;
  return snd_pcm_start(p->handle);
}

int StopPcm(Pcm* p) { return snd_pcm_drop(p->handle); }

int ReadPcm(Pcm* p, uint8_t* dst, snd_pcm_uframes_t frames, snd_pcm_uframes_t maxFrames, int timeoutMs, double* out) {
  snd_pcm_t* h = p->handle;
  int64_t deadline = -1;  // taken on the first wait only: a read whose data is already there needs no clock
  // Steady state: the last read drained the device, so poll first (one ALSA call fewer per period);
  // avail_update after every wake-up also reports an overrun or a suspend.
  bool waitFirst = p->leftAfterRead < frames;
  for (;;) {
    if (!waitFirst) {
      snd_pcm_sframes_t avail = snd_pcm_avail_update(h);
      if (avail < 0) {
        int err = int(avail);
        out[kOutErrno] = -err;
        if (err == -EPIPE || err == -ESTRPIPE) return Recover(p, err, out) == 0 ? kReadXrun : kReadDisconnected;
        return kReadDisconnected;
      }
      if (snd_pcm_uframes_t(avail) >= frames) {
        frames = std::min<snd_pcm_uframes_t>(avail, std::max(frames, maxFrames));  // all that is there, up to maxFrames
        break;
      }
      if (deadline >= 0 && NowMs() >= deadline) {
        if (avail == 0) return 0;  // timeout, nothing captured
        frames = avail;            // hand over what is there
        break;
      }
    }
    waitFirst = false;
    const int64_t now = NowMs();
    if (deadline < 0) deadline = now + timeoutMs;
    int pr = poll(p->fds.data(), p->fds.size(), int(std::max<int64_t>(0, deadline - now)));
    if (pr < 0 && errno != EINTR) {
      out[kOutErrno] = errno;
      return kReadDisconnected;
    }
    if (pr > 0) {
      unsigned short rev = 0;
      snd_pcm_poll_descriptors_revents(h, p->fds.data(), p->fds.size(), &rev);
      if (rev & (POLLERR | POLLNVAL | POLLHUP)) {
        snd_pcm_state_t s = snd_pcm_state(h);
        if (s == SND_PCM_STATE_DISCONNECTED) {
          out[kOutErrno] = ENODEV;
          return kReadDisconnected;
        }
        if (s != SND_PCM_STATE_XRUN && s != SND_PCM_STATE_SUSPENDED && s != SND_PCM_STATE_RUNNING) {
          out[kOutErrno] = EBADFD;
          return kReadDisconnected;
        }
        // XRUN/SUSPENDED: the next avail_update reports it.
      }
    }
  }

  snd_pcm_sframes_t n = snd_pcm_readi(h, dst, frames);  // straight into the caller's (shared) memory
  if (n == -EAGAIN) {
    p->leftAfterRead = 0;
    return 0;
  }
  if (n < 0) {
    out[kOutErrno] = double(-n);
    if (n == -EPIPE || n == -ESTRPIPE) return Recover(p, int(n), out) == 0 ? kReadXrun : kReadDisconnected;
    return kReadDisconnected;
  }
  // Stamps for the chunk: delay first (syncs the hw pointer), then the timestamp of the latest pointer
  // update and the frames still waiting at that instant. TypeScript back-dates to the chunk's first frame.
  snd_pcm_sframes_t delay = -1;
  if (snd_pcm_delay(h, &delay) < 0) delay = -1;
  snd_pcm_uframes_t hav = 0;
  snd_htimestamp_t ts{0, 0};
  if (snd_pcm_htimestamp(h, &hav, &ts) < 0) ts = {0, 0};
  p->leftAfterRead = hav;
  timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  PutNs(out, kOutTsNs, ts);
  out[kOutAvail] = double(hav);
  out[kOutDelay] = double(delay);
  PutNs(out, kOutNowNs, now);
  out[kOutErrno] = 0;
  return int(n);
}

int64_t FramesToNs(int64_t frames, unsigned rate) {
  // Truncating division, as the BigInt arithmetic of framesToNs(); 128 bits so no frame count overflows.
  return int64_t((__int128(frames) * 1000000000 + (rate >> 1)) / rate);
}

ChunkTime ChunkCaptureTime(int64_t tsNs, int64_t availFrames, int64_t delayFrames, int64_t nowNs, int64_t frames,
                           unsigned rate, int64_t maxLagNs) {
  const int64_t waiting = std::max<int64_t>({availFrames, delayFrames, 0});
  const bool sane = tsNs > 0 && tsNs <= nowNs + 1000000 && nowNs - tsNs <= maxLagNs;
  if (sane) return {tsNs - FramesToNs(waiting + frames, rate), false};
  const int64_t delay = delayFrames >= 0 ? delayFrames : availFrames;
  return {nowNs - FramesToNs(delay + frames, rate), true};
}

int CapturePcm(Pcm* p, senseflow::ring::SampleRingWriter& ring, const int32_t* mailbox, uint32_t maxFrames,
               int timeoutMs, double deadlineMs, bool commitFirst, int32_t flags, double* out) {
  // Stamps further from "now" than two device buffers (+1 s) are not believed.
  const int64_t maxLagNs = FramesToNs(int64_t(2 * p->bufferFrames), p->rate) + 1000000000;
  const uint32_t period = uint32_t(p->periodFrames);
  double chunks = 0, frames = 0, fallbacks = 0;
  int rc;
  for (;;) {
    const senseflow::ring::SampleRingWriter::Region r = ring.Reserve(maxFrames);
    const int n = ReadPcm(p, r.data, std::min(period, r.frames), r.frames, timeoutMs, out);
    if (n <= 0) {
      ring.Release();
      rc = n;
      break;
    }
    const int64_t nowNs = GetNs(out, kOutNowNs);
    const ChunkTime t = ChunkCaptureTime(GetNs(out, kOutTsNs), int64_t(out[kOutAvail]), int64_t(out[kOutDelay]), nowNs,
                                         n, p->rate, maxLagNs);
    PutI64(out, kOutCaptureNs, t.captureNs);
    out[kOutLastFrames] = n;
    if (t.fallback) fallbacks++;
    if (!commitFirst) {  // the reservation stays: the caller commits these frames where they are
      rc = kCaptureHeld;
      break;
    }
    ring.Commit(uint32_t(n), t.captureNs, nowNs, flags | (t.fallback ? senseflow::ring::kFlagTimestampFallback : 0));
    flags = 0;
    chunks++;
    frames += n;
    if (double(nowNs) / 1e6 >= deadlineMs || senseflow::ControlPending(mailbox)) {
      rc = kCaptureDone;
      break;
    }
    if (ring.ReadersWaiting()) {
      rc = kCaptureWake;
      break;
    }
  }
  out[kOutChunks] = chunks;
  out[kOutFrames] = frames;
  out[kOutFallbacks] = fallbacks;
  out[kOutFlagsLeft] = flags;
  return rc;
}

}  // namespace sf
