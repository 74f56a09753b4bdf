/**
 * The source packages are loaded on demand, so one that is missing or failed to build costs only its own
 * feature (with the reason shown), never the whole command.
 */
import type { AudioSource, HostOptions, RecordsSource, VideoSource } from '@senseflow/core';

export interface VideoModule {
  openTestPattern(o: Record<string, unknown>, h?: HostOptions): Promise<VideoSource>;
  openCamera?(o: Record<string, unknown>, h?: HostOptions): Promise<VideoSource>;
  openFfmpeg?(o: Record<string, unknown>, h?: HostOptions): Promise<VideoSource>;
  listCameras?(): CameraLike[];
  videoNodes?(dir?: string): string[];
}
export interface CameraLike {
  path: string;
  id: string;
  card: string;
  driver: string;
  formats: { pixelFormat: string; description: string; compressed: boolean }[];
  modes: { pixelFormat: string; width: number; height: number; intervals: { num: number; den: number }[] }[];
  descriptions: string[];
}
export interface AudioModule {
  openTone(o: Record<string, unknown>, h?: HostOptions): Promise<AudioSource>;
  openMicrophone?(o: Record<string, unknown>, h?: HostOptions): Promise<AudioSource>;
  listAudioDevices?(o?: { probe?: boolean; soundServer?: boolean }): Promise<AudioDeviceLike[]>;
}
export interface AudioDeviceLike {
  id: string;
  name: string;
  description: string;
  kind: string;
  rates: { min: number; max: number } | null;
  channels: { min: number; max: number } | null;
  formats: string[];
  notes: string[];
}
export interface StatsModule {
  openSysStats?(o: Record<string, unknown>, h?: HostOptions): Promise<RecordsSource>;
}

export type Loaded<T> = { mod: T; error: null } | { mod: null; error: string };

async function load<T>(name: string): Promise<Loaded<T>> {
  try {
    return { mod: (await import(name)) as T, error: null };
  } catch (e) {
    return { mod: null, error: `${name} could not be loaded (${(e as Error).message.split('\n')[0]}); try: pnpm build` };
  }
}

export const loadVideo = () => load<VideoModule>('@senseflow/source-video');
export const loadAudio = () => load<AudioModule>('@senseflow/source-audio');
export const loadStats = () => load<StatsModule>('@senseflow/source-sysstats');

export interface NatsModule {
  listRemoteStreams(o: { servers?: string | string[]; token?: string; user?: string; pass?: string }): Promise<RemoteStreamLike[]>;
}
export interface RemoteStreamLike {
  subject: string;
  clock: string;
  spec: { kind: string; description?: string };
}
export const loadNats = () => load<NatsModule>('@senseflow/nats');
