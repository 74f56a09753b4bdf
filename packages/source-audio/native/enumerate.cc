// Device enumeration: ALSA name hints (plugins and cards), hw cards with capture devices, and a brief
// non-blocking open to learn what a PCM can capture.
#include "common.h"

namespace sf {

namespace {
Napi::Value StrOrNull(Napi::Env env, char* s) {
  if (!s) return env.Null();
  Napi::String v = Napi::String::New(env, s);
  free(s);
  return v;
}
}  // namespace

// [{ name, description, ioid: 'Input' | 'Output' | null }] for every PCM hint.
Napi::Value NameHints(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  void** hints = nullptr;
  int rc;
  {
    std::lock_guard<std::mutex> lock(ConfigMutex());
    ClearAlsaMessage();
    rc = snd_device_name_hint(-1, "pcm", &hints);
  }
  if (rc < 0) throw AlsaError(env, "snd_device_name_hint", rc, "pcm");
  Napi::Array list = Napi::Array::New(env);
  uint32_t i = 0;
  for (void** h = hints; *h; h++) {
    Napi::Object o = Napi::Object::New(env);
    o.Set("name", StrOrNull(env, snd_device_name_get_hint(*h, "NAME")));
    o.Set("description", StrOrNull(env, snd_device_name_get_hint(*h, "DESC")));
    o.Set("ioid", StrOrNull(env, snd_device_name_get_hint(*h, "IOID")));
    list.Set(i++, o);
  }
  snd_device_name_free_hint(hints);
  return list;
}

// [{ card, id, name, longName, devices: [{ device, name, subdevices }] }] — capture devices only.
Napi::Value Cards(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Array list = Napi::Array::New(env);
  uint32_t i = 0;
  int card = -1;
  snd_ctl_card_info_t* ci;
  snd_pcm_info_t* pi;
  snd_ctl_card_info_alloca(&ci);
  snd_pcm_info_alloca(&pi);
  while (snd_card_next(&card) == 0 && card >= 0) {
    std::string ctlName = "hw:" + std::to_string(card);
    snd_ctl_t* ctl = nullptr;
    int rc;
    {
      std::lock_guard<std::mutex> lock(ConfigMutex());
      rc = snd_ctl_open(&ctl, ctlName.c_str(), SND_CTL_NONBLOCK);
    }
    if (rc < 0) continue;
    if (snd_ctl_card_info(ctl, ci) < 0) {
      snd_ctl_close(ctl);
      continue;
    }
    Napi::Object c = Napi::Object::New(env);
    c.Set("card", card);
    c.Set("id", snd_ctl_card_info_get_id(ci));
    c.Set("name", snd_ctl_card_info_get_name(ci));
    c.Set("longName", snd_ctl_card_info_get_longname(ci));
    Napi::Array devs = Napi::Array::New(env);
    uint32_t j = 0;
    int dev = -1;
    while (snd_ctl_pcm_next_device(ctl, &dev) == 0 && dev >= 0) {
      snd_pcm_info_set_device(pi, dev);
      snd_pcm_info_set_subdevice(pi, 0);
      snd_pcm_info_set_stream(pi, SND_PCM_STREAM_CAPTURE);
      if (snd_ctl_pcm_info(ctl, pi) < 0) continue;  // playback-only device
      Napi::Object d = Napi::Object::New(env);
      d.Set("device", dev);
      d.Set("name", snd_pcm_info_get_name(pi));
      d.Set("subdevices", snd_pcm_info_get_subdevices_count(pi));
      devs.Set(j++, d);
    }
    c.Set("devices", devs);
    snd_ctl_close(ctl);
    list.Set(i++, c);
  }
  return list;
}

// probe(device) → { rateMin, rateMax, channelsMin, channelsMax, formats: [...] }; throws with errno.
Napi::Value Probe(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string dev = info[0].As<Napi::String>();
  snd_pcm_t* h = nullptr;
  int rc;
  {
    std::lock_guard<std::mutex> lock(ConfigMutex());
    ClearAlsaMessage();
    rc = snd_pcm_open(&h, dev.c_str(), SND_PCM_STREAM_CAPTURE, SND_PCM_NONBLOCK);
  }
  if (rc < 0) throw AlsaError(env, "snd_pcm_open", rc, dev);
  snd_pcm_hw_params_t* hw;
  snd_pcm_hw_params_alloca(&hw);
  if ((rc = snd_pcm_hw_params_any(h, hw)) < 0) {
    snd_pcm_close(h);
    throw AlsaError(env, "snd_pcm_hw_params_any", rc, dev);
  }
  unsigned rmin = 0, rmax = 0, cmin = 0, cmax = 0;
  int dir = 0;
  snd_pcm_hw_params_get_rate_min(hw, &rmin, &dir);
  snd_pcm_hw_params_get_rate_max(hw, &rmax, &dir);
  snd_pcm_hw_params_get_channels_min(hw, &cmin);
  snd_pcm_hw_params_get_channels_max(hw, &cmax);
  Napi::Array formats = Napi::Array::New(env);
  uint32_t k = 0;
  const std::pair<snd_pcm_format_t, const char*> known[] = {
      {SND_PCM_FORMAT_S16_LE, "s16le"}, {SND_PCM_FORMAT_S32_LE, "s32le"}, {SND_PCM_FORMAT_FLOAT_LE, "f32le"}};
  for (auto& f : known)
    if (snd_pcm_hw_params_test_format(h, hw, f.first) == 0) formats.Set(k++, f.second);
  snd_pcm_close(h);
  Napi::Object o = Napi::Object::New(env);
  o.Set("rateMin", rmin);
  o.Set("rateMax", rmax);
  o.Set("channelsMin", cmin);
  o.Set("channelsMax", cmax);
  o.Set("formats", formats);
  return o;
}

}  // namespace sf
