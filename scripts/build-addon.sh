#!/bin/sh
# Builds the package's addon in ./native (run by each addon package's `build` script). `pnpm install` already
# compiled it there when no prebuild matched (node-gyp-build runs `node-gyp rebuild` on install); compiling
# again from scratch doubled the addons' share of a fresh clone's set-up. So: an incremental `node-gyp build`
# (make redoes what changed) when native/build was configured and binding.gyp is not newer than its
# Makefile; a full `node-gyp rebuild` otherwise.
set -e
if [ -f native/build/Makefile ] && [ -f native/build/config.gypi ] && [ ! native/binding.gyp -nt native/build/Makefile ]; then
  exec node-gyp build --directory native --silent
fi
exec node-gyp rebuild --directory native --silent
