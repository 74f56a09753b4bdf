/**
 * Who holds a device open: scans /proc/<pid>/fd for links to the device node (what `fuser` does). Only
 * processes we may inspect are seen (all of them as root).
 */
import { readdirSync, readFileSync, readlinkSync, realpathSync } from 'node:fs';

export interface Holder {
  pid: number;
  command: string;
}

export function deviceHolders(device: string, procRoot = '/proc'): Holder[] {
  let target = device;
  try {
    target = realpathSync(device);
  } catch {
    // keep the name as given
  }
  const out: Holder[] = [];
  let pids: string[];
  try {
    pids = readdirSync(procRoot).filter((p) => /^\d+$/.test(p));
  } catch {
    return out;
  }
  for (const pid of pids) {
    if (Number(pid) === process.pid) continue;
    let fds: string[];
    try {
      fds = readdirSync(`${procRoot}/${pid}/fd`);
    } catch {
      continue; // gone, or not ours to look at
    }
    for (const fd of fds) {
      let link: string;
      try {
        link = readlinkSync(`${procRoot}/${pid}/fd/${fd}`);
      } catch {
        continue;
      }
      if (link === target || link === device) {
        let command = '?';
        try {
          command = readFileSync(`${procRoot}/${pid}/comm`, 'utf8').trim();
        } catch {
          // exited meanwhile
        }
        out.push({ pid: Number(pid), command });
        break;
      }
    }
  }
  return out;
}

/** ALSA hw:C,D → the capture node /dev/snd/pcmCcDdc (cards by index; names are resolved via /proc/asound). */
export function alsaCaptureNode(pcm: string): string | null {
  const m = /^(?:plug)?hw:(?:CARD=)?([^,]+)(?:,(?:DEV=)?(\d+))?/.exec(pcm);
  if (!m) return null;
  let card = m[1];
  if (!/^\d+$/.test(card)) {
    try {
      card = realpathSync(`/proc/asound/${card}`).split('/').pop()!.replace(/^card/, '');
    } catch {
      return null;
    }
  }
  return `/dev/snd/pcmC${card}D${m[2] ?? '0'}c`;
}

export function describeHolders(h: Holder[]): string {
  return h.map((x) => `${x.command} (pid ${x.pid})`).join(', ');
}
