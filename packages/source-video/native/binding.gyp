# NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS: a worker terminated in the middle of a native call must not
# abort the process (node-addon-api would otherwise rethrow the JS error it cannot throw any more).
{
  "targets": [
    {
      "target_name": "senseflow_v4l2",
      "sources": ["addon.cc", "device.cc", "convert.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-O2"],
      "cflags_cc": ["-std=c++17", "-O3", "-fexceptions", "-Wall", "-Wextra", "-Wno-unused-parameter", "-Wno-psabi"],
      "libraries": ["-lturbojpeg"]
    }
  ]
}
