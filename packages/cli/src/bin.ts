#!/usr/bin/env node
import { main } from './main.js';

// Exit explicitly: a device library may leave handles behind that would keep a finished command alive.
main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
    setTimeout(() => process.exit(code), 200).unref();
  },
  (e: unknown) => {
    process.stderr.write(`senseflow: ${(e as Error)?.message ?? String(e)}\n`);
    process.exit(1);
  },
);
