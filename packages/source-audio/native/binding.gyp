# NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS: a worker terminated during a native call must not abort the process.
{
  "targets": [
    {
      "target_name": "senseflow_alsa",
      "sources": ["addon.cc", "pcm.cc", "enumerate.cc", "errors.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")",
                       "<!(node -p \"require('path').join(require.resolve('@senseflow/core/package.json'), '../native')\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED", "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions"],
      "cflags_cc": ["-std=c++17", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "libraries": ["-lasound"]
    }
  ]
}
