// Thin FFTW binding (single precision, real input): cached plans, batched transforms, and the fused
// "gather → window → FFT → magnitude" pass the spectrum sink runs on a ring. TypeScript validates every
// argument and names the bad one (src/fft/native.ts); the checks here only keep a bad call from crashing.
//
// Context-aware: all state is per plan object or per environment (worker); a cleanup hook frees the plans
// an exiting worker still holds. FFTW's planner is process-global and not thread-safe (fftwf_execute is),
// so planning, destroying plans and wisdom calls take one process-wide lock.
#include <fftw3.h>
#include <napi.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <vector>

// x86-64: an AVX2 clone beside the baseline one, picked at load time. Elsewhere (arm64: NEON is baseline) one build.
#if defined(__x86_64__)
#define SF_AVX2_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define SF_AVX2_CLONES
#endif

namespace {

std::mutex& plannerMutex() {
  static std::mutex m;
  return m;
}

// FFTW's notion of alignment (bytes past its SIMD boundary, 16): a plan runs on new arrays only when
// theirs equals that of the arrays it was planned with (0 here).
bool fftwAligned(const void* p) { return fftwf_alignment_of(static_cast<float*>(const_cast<void*>(p))) == 0; }

// One size's plans and their aligned work buffers.
struct PlanCore {
  int n = 0, bins = 0, batch = 0;
  float* in = nullptr;           // batch × n reals (fftwf_malloc: SIMD-aligned)
  fftwf_complex* out = nullptr;  // batch × bins complex
  fftwf_plan many = nullptr;     // `batch` transforms per execute (fftwf_plan_many_dft_r2c)
  fftwf_plan one = nullptr;      // one transform (batch remainders, unaligned callers)

  void destroy() {
    std::lock_guard<std::mutex> lock(plannerMutex());
    if (many) fftwf_destroy_plan(many);
    if (one) fftwf_destroy_plan(one);
    if (in) fftwf_free(in);
    if (out) fftwf_free(out);
    many = one = nullptr;
    in = nullptr;
    out = nullptr;
  }
  bool alive() const { return one != nullptr; }
  ~PlanCore() { destroy(); }
};

// Plans created in one environment (worker). Shared by the environment's instance data (used while JS
// runs) and its cleanup hook (frees the plans an exiting worker still holds), whichever goes last frees it.
struct Registry {
  std::vector<std::weak_ptr<PlanCore>> plans;
  void add(const std::shared_ptr<PlanCore>& p) {
    plans.erase(std::remove_if(plans.begin(), plans.end(), [](const std::weak_ptr<PlanCore>& w) { return w.expired(); }),
                plans.end());
    plans.push_back(p);
  }
};
using RegistryRef = std::shared_ptr<Registry>;

void cleanupHook(RegistryRef* r) {
  for (auto& w : (*r)->plans)
    if (auto p = w.lock()) p->destroy();
  delete r;
}
void finalizeInstance(Napi::Env, RegistryRef* r) { delete r; }

enum Mode { kAmplitude = 0, kPower = 1, kDecibel = 2 };

struct MagParams {
  int mode;
  float gain;      // amplitude scale for bins 1 … n/2-1
  float edgeGain;  // amplitude scale for DC and Nyquist
  float floorDb;
};

// |X|·gain as amplitude, power or dB for `count` transforms of `bins` bins. Built with -ffast-math so
// sqrt and log10 vectorize (glibc's libmvec); cloned for AVX2 where the CPU has it.
SF_AVX2_CLONES void magnitudes(const fftwf_complex* x, float* dst, int bins, int count, const MagParams& p) {
  const float g2 = p.gain * p.gain, e2 = p.edgeGain * p.edgeGain;
  const float floorPower = std::pow(10.0f, p.floorDb / 10.0f);
  for (int t = 0; t < count; t++) {
    const fftwf_complex* c = x + static_cast<size_t>(t) * bins;
    float* o = dst + static_cast<size_t>(t) * bins;
    for (int b = 0; b < bins; b++) {
      const float pw = (c[b][0] * c[b][0] + c[b][1] * c[b][1]) * ((b == 0 || b == bins - 1) ? e2 : g2);
      o[b] = pw;
    }
    if (p.mode == kAmplitude) {
      for (int b = 0; b < bins; b++) o[b] = std::sqrt(o[b]);
    } else if (p.mode == kDecibel) {
      // 10·log10(x) = (10 / ln 10)·ln(x): logf has a vector variant in libmvec, log10f may not.
      const float k = 4.342944819f;
      for (int b = 0; b < bins; b++) o[b] = k * std::log(std::max(o[b], floorPower));  // branch-free: vectorizes
    }
  }
}

// Transforms the `count` (≤ batch) inputs that sit in core.in and writes their magnitudes to dst. A whole
// batch goes through the many-plan; a partial one transform at a time, each into core.out's first row
// (rows after the first are not SIMD-aligned: bins × 8 bytes is an odd multiple of 8).
void transformMagnitudes(PlanCore& c, int count, float* dst, const MagParams& p) {
  if (count == c.batch) {
    fftwf_execute(c.many);
    magnitudes(c.out, dst, c.bins, count, p);
    return;
  }
  for (int t = 0; t < count; t++) {
    fftwf_execute_dft_r2c(c.one, c.in + static_cast<size_t>(t) * c.n, c.out);
    magnitudes(c.out, dst + static_cast<size_t>(t) * c.bins, c.bins, 1, p);
  }
}

// One napi_get_typedarray_info per argument (type, length and data at once): node-addon-api's
// IsTypedArray + TypedArrayType + As<TypedArrayOf<T>> made three lookups, and each scans V8's typed array
// types one by one; at N = 1024 that was about a quarter of a call's overhead (1.24 → 1.13 µs per call).
template <typename T>
T* typedData(napi_env env, napi_value v, napi_typedarray_type type, size_t minLength, const char* what, size_t* length = nullptr) {
  napi_typedarray_type t;
  size_t len = 0;
  void* data = nullptr;
  if (napi_get_typedarray_info(env, v, &t, &len, &data, nullptr, nullptr) != napi_ok || t != type) {
    napi_value pending;
    napi_get_and_clear_last_exception(env, &pending);  // not a typed array: our TypeError instead
    throw Napi::TypeError::New(env, std::string(what) + ": wrong typed array type");
  }
  if (len < minLength) throw Napi::RangeError::New(env, std::string(what) + ": too short");
  if (length) *length = len;
  return static_cast<T*>(data);
}

template <typename T>
T* typedData(const Napi::Value& v, napi_typedarray_type type, size_t minLength, const char* what) {
  return typedData<T>(v.Env(), v, type, minLength, what);
}

size_t argIndex(const Napi::CallbackInfo& info, size_t i, const char* what) {
  double d;
  if (napi_get_value_double(info.Env(), info[i], &d) != napi_ok) throw Napi::TypeError::New(info.Env(), std::string(what) + ": expected a number");
  if (!(d >= 0) || d > 9007199254740991.0 || std::floor(d) != d)
    throw Napi::RangeError::New(info.Env(), std::string(what) + ": expected a non-negative integer");
  return static_cast<size_t>(d);
}

MagParams magParams(const Napi::CallbackInfo& info, size_t at) {
  MagParams p;
  p.mode = static_cast<int>(argIndex(info, at, "mode"));
  if (p.mode > kDecibel) throw Napi::RangeError::New(info.Env(), "mode: 0, 1 or 2");
  p.gain = info[at + 1].As<Napi::Number>().FloatValue();
  p.edgeGain = info[at + 2].As<Napi::Number>().FloatValue();
  p.floorDb = info[at + 3].As<Napi::Number>().FloatValue();
  return p;
}

// Copies one window of channel `ch` out of an interleaved ring (wrapping at its end), converting and
// multiplying by the window (null = rectangular).
template <typename T>
void gatherWindow(float* dst, const T* src, size_t capacity, size_t channels, size_t ch, size_t pos, int n, const float* w) {
  const size_t first = std::min<size_t>(n, capacity - pos);
  const T* s = src + pos * channels + ch;
  if (w) {
    for (size_t i = 0; i < first; i++) dst[i] = static_cast<float>(s[i * channels]) * w[i];
    for (size_t i = first; i < static_cast<size_t>(n); i++) dst[i] = static_cast<float>(src[(i - first) * channels + ch]) * w[i];
  } else {
    for (size_t i = 0; i < first; i++) dst[i] = static_cast<float>(s[i * channels]);
    for (size_t i = first; i < static_cast<size_t>(n); i++) dst[i] = static_cast<float>(src[(i - first) * channels + ch]);
  }
}

class Plan : public Napi::ObjectWrap<Plan> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "Plan",
                       {
                           InstanceMethod<&Plan::Forward>("forward"),
                           InstanceMethod<&Plan::Magnitudes>("magnitudes"),
                           InstanceMethod<&Plan::Gather>("gather"),
                           InstanceMethod<&Plan::Dispose>("dispose"),
                       });
  }

  // new Plan(n, batch, effort): effort 0 = FFTW_ESTIMATE, 1 = FFTW_MEASURE, 2 = FFTW_PATIENT.
  Plan(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Plan>(info) {
    Napi::Env env = info.Env();
    const size_t n = argIndex(info, 0, "n"), batch = argIndex(info, 1, "batch"), effort = argIndex(info, 2, "effort");
    if (n < 16 || n > (1u << 26) || (n & 15)) throw Napi::RangeError::New(env, "n: a multiple of 16 from 16 to 2^26");
    if (batch < 1 || batch > 4096) throw Napi::RangeError::New(env, "batch: 1 … 4096");
    const unsigned flags = effort == 0 ? FFTW_ESTIMATE : effort == 2 ? FFTW_PATIENT : FFTW_MEASURE;
    auto c = std::make_shared<PlanCore>();
    c->n = static_cast<int>(n);
    c->bins = static_cast<int>(n / 2 + 1);
    c->batch = static_cast<int>(batch);
    {
      std::lock_guard<std::mutex> lock(plannerMutex());
      c->in = fftwf_alloc_real(batch * n);
      c->out = fftwf_alloc_complex(batch * c->bins);
      if (c->in && c->out) {
        const int len = c->n;
        c->many = fftwf_plan_many_dft_r2c(1, &len, c->batch, c->in, nullptr, 1, c->n, c->out, nullptr, 1, c->bins, flags);
        c->one = fftwf_plan_dft_r2c_1d(c->n, c->in, c->out, flags);
      }
    }
    if (!c->many || !c->one) {
      c->destroy();
      throw Napi::Error::New(env, "FFTW could not create a plan (out of memory?)");
    }
    core_ = c;
    (*env.GetInstanceData<RegistryRef>())->add(c);
  }

 private:
  std::shared_ptr<PlanCore> core_;

  PlanCore& live(Napi::Env env) {
    if (!core_ || !core_->alive()) throw Napi::Error::New(env, "plan disposed");
    return *core_;
  }

  // forward(input: Float32Array k×n, output: Float32Array k×bins×2 (re, im), k)
  Napi::Value Forward(const Napi::CallbackInfo& info) {
    PlanCore& c = live(info.Env());
    const size_t k = argIndex(info, 2, "k");
    const float* in = typedData<float>(info[0], napi_float32_array, k * c.n, "input");
    float* outF = typedData<float>(info[1], napi_float32_array, k * c.bins * 2, "output");
    auto* out = reinterpret_cast<fftwf_complex*>(outF);
    const size_t n = c.n, bins = c.bins, batch = c.batch;
    size_t t = 0;
    // Straight from and into the caller's memory when it is aligned like our buffers (new-array execute).
    // FFTW's alignment is 16 bytes, not a cache line: with a 64-byte check, 7 of 8 rows of a packed
    // output were copied in and out. Every input row is aligned (n × 4 bytes); output rows alternate
    // between aligned and 8 bytes past (bins × 8 bytes), and only those go through `out` and a copy
    // (measured against a plan for that alignment: as fast at N ≥ 4096, slower at 1024; bench/fft.bench.mjs).
    for (; t + batch <= k && fftwAligned(in + t * n) && fftwAligned(out + t * bins); t += batch)
      fftwf_execute_dft_r2c(c.many, const_cast<float*>(in) + t * n, out + t * bins);
    for (; t < k; t++) {
      float* src = const_cast<float*>(in) + t * n;
      fftwf_complex* dst = out + t * bins;
      if (!fftwAligned(src)) {
        std::memcpy(c.in, src, n * sizeof(float));
        src = c.in;
      }
      if (fftwAligned(dst)) {
        fftwf_execute_dft_r2c(c.one, src, dst);
      } else {
        fftwf_execute_dft_r2c(c.one, src, c.out);
        std::memcpy(dst, c.out, bins * sizeof(fftwf_complex));
      }
    }
    return info.Env().Undefined();
  }

  // magnitudes(input k×n, output k×bins, k, window|null, mode, gain, edgeGain, floorDb)
  Napi::Value Magnitudes(const Napi::CallbackInfo& info) {
    PlanCore& c = live(info.Env());
    const size_t k = argIndex(info, 2, "k");
    const float* in = typedData<float>(info[0], napi_float32_array, k * c.n, "input");
    float* out = typedData<float>(info[1], napi_float32_array, k * c.bins, "output");
    const float* w = info[3].IsNull() ? nullptr : typedData<float>(info[3], napi_float32_array, c.n, "window");
    const MagParams p = magParams(info, 4);
    for (size_t t = 0; t < k; t += c.batch) {
      const int count = static_cast<int>(std::min<size_t>(c.batch, k - t));
      for (int j = 0; j < count; j++) {
        const float* s = in + (t + j) * c.n;
        float* d = c.in + static_cast<size_t>(j) * c.n;
        if (w)
          for (int i = 0; i < c.n; i++) d[i] = s[i] * w[i];
        else
          std::memcpy(d, s, c.n * sizeof(float));
      }
      transformMagnitudes(c, count, out + t * c.bins, p);
    }
    return info.Env().Undefined();
  }

  // gather(src: Int16Array|Int32Array|Float32Array, capacityFrames, channels, chans: Int32Array, startPos, hop,
  //        count, window|null, mode, gain, edgeGain, floorDb, output: Float32Array count×chans×bins)
  // Window j of channel chans[ci] starts at ring frame (startPos + j·hop) mod capacity; its spectrum goes to
  // output[(j·chans.length + ci)·bins …].
  Napi::Value Gather(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    PlanCore& c = live(env);
    const size_t capacity = argIndex(info, 1, "capacityFrames"), channels = argIndex(info, 2, "channels");
    const size_t startPos = argIndex(info, 4, "startPos"), hop = argIndex(info, 5, "hop"), count = argIndex(info, 6, "count");
    if (channels < 1 || capacity < static_cast<size_t>(c.n) || startPos >= capacity)
      throw Napi::RangeError::New(env, "ring geometry out of range");
    size_t nch = 0;
    const int32_t* chans = typedData<int32_t>(env, info[3], napi_int32_array, 0, "chans", &nch);
    for (size_t i = 0; i < nch; i++)
      if (chans[i] < 0 || static_cast<size_t>(chans[i]) >= channels) throw Napi::RangeError::New(env, "chans: channel out of range");
    const float* w = info[7].IsNull() ? nullptr : typedData<float>(info[7], napi_float32_array, c.n, "window");
    const MagParams p = magParams(info, 8);
    float* out = typedData<float>(info[12], napi_float32_array, count * nch * c.bins, "output");
    napi_typedarray_type type;
    size_t length = 0;
    void* data = nullptr;
    if (napi_get_typedarray_info(env, info[0], &type, &length, &data, nullptr, nullptr) != napi_ok)
      throw Napi::TypeError::New(env, "src: expected a typed array");
    if (length < capacity * channels) throw Napi::RangeError::New(env, "src: too short");
    const int16_t* s16 = type == napi_int16_array ? static_cast<const int16_t*>(data) : nullptr;
    const int32_t* s32 = type == napi_int32_array ? static_cast<const int32_t*>(data) : nullptr;
    const float* f32 = type == napi_float32_array ? static_cast<const float*>(data) : nullptr;
    if (!s16 && !s32 && !f32) throw Napi::TypeError::New(env, "src: Int16Array, Int32Array or Float32Array");

    const size_t total = count * nch;
    for (size_t t = 0; t < total; t += c.batch) {
      const int m = static_cast<int>(std::min<size_t>(c.batch, total - t));
      for (int j = 0; j < m; j++) {
        const size_t item = t + j, win = item / nch, ch = static_cast<size_t>(chans[item % nch]);
        const size_t pos = (startPos + (win * hop) % capacity) % capacity;
        float* d = c.in + static_cast<size_t>(j) * c.n;
        if (s16) gatherWindow(d, s16, capacity, channels, ch, pos, c.n, w);
        else if (s32) gatherWindow(d, s32, capacity, channels, ch, pos, c.n, w);
        else gatherWindow(d, f32, capacity, channels, ch, pos, c.n, w);
      }
      transformMagnitudes(c, m, out + t * c.bins, p);
    }
    return env.Undefined();
  }

  Napi::Value Dispose(const Napi::CallbackInfo& info) {
    if (core_) core_->destroy();
    return info.Env().Undefined();
  }
};

Napi::Value AlignmentOf(const Napi::CallbackInfo& info) {
  if (!info[0].IsTypedArray()) throw Napi::TypeError::New(info.Env(), "expected a typed array");
  napi_value a = info[0];
  void* data = nullptr;
  napi_typedarray_type type;
  size_t length, offset;
  napi_value ab;
  if (napi_get_typedarray_info(info.Env(), a, &type, &length, &data, &ab, &offset) != napi_ok)
    throw Napi::Error::New(info.Env(), "napi_get_typedarray_info failed");
  return Napi::Number::New(info.Env(), static_cast<double>(reinterpret_cast<uintptr_t>(data) & 63));
}

Napi::Value Version(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), fftwf_version); }

Napi::Value ExportWisdom(const Napi::CallbackInfo& info) {
  std::lock_guard<std::mutex> lock(plannerMutex());
  char* s = fftwf_export_wisdom_to_string();
  if (!s) return info.Env().Null();
  Napi::String r = Napi::String::New(info.Env(), s);
  fftwf_free(s);
  return r;
}

Napi::Value ImportWisdom(const Napi::CallbackInfo& info) {
  const std::string s = info[0].As<Napi::String>().Utf8Value();
  std::lock_guard<std::mutex> lock(plannerMutex());
  return Napi::Boolean::New(info.Env(), fftwf_import_wisdom_from_string(s.c_str()) != 0);
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  auto registry = std::make_shared<Registry>();
  env.SetInstanceData<RegistryRef, finalizeInstance>(new RegistryRef(registry));
  env.AddCleanupHook(cleanupHook, new RegistryRef(registry));
  exports.Set("Plan", Plan::Define(env));
  exports.Set("alignmentOf", Napi::Function::New<AlignmentOf>(env, "alignmentOf"));
  exports.Set("version", Napi::Function::New<Version>(env, "version"));
  exports.Set("exportWisdom", Napi::Function::New<ExportWisdom>(env, "exportWisdom"));
  exports.Set("importWisdom", Napi::Function::New<ImportWisdom>(env, "importWisdom"));
  return exports;
}

}  // namespace

NODE_API_MODULE(senseflow_fft, Init)
