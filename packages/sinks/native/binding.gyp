# NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS: a worker terminated during a native call must not abort the process.
{
  "targets": [
    {
      "target_name": "senseflow_fft",
      "sources": ["fft.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED", "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-O2"],
      "cflags_cc": ["-std=c++17", "-O3", "-ffast-math", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "libraries": ["-lfftw3f"],
      "conditions": [["target_arch=='x64'", {"libraries": ["-lmvec"]}]]
    }
  ]
}
