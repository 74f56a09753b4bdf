// The sample ring's writer side for native code: a capture loop that reads, stamps and commits audio without
// returning to JavaScript per chunk (the per-chunk JavaScript was most of the capture thread's cost above
// `arecord`'s: docs/performance.md). It mirrors SampleRingWriter.reserve()/commit() in
// ../src/ring/sample-ring.ts over the layout in ../src/ring/layout.ts; test/native-header.test.ts checks that
// every constant here equals the TypeScript one.
//
// A native writer never wakes readers itself (Atomics.notify exists only in JavaScript): after committing it
// checks ReadersWaiting() and, when it is true, returns to JavaScript, which calls SampleRingWriter.nativeDone().
// It runs on the thread that owns the JavaScript writer, between nativeBegin() and nativeDone(), so the ring
// still has one writer at a time.
#pragma once

#include <cstddef>
#include <cstdint>

namespace senseflow {
namespace ring {

constexpr int32_t kMagic = 0x53464c57;  // 'SFLW'
constexpr int32_t kVersion = 4;
constexpr int32_t kHeaderBytes = 256;
constexpr int32_t kKindSample = 2;

// Int32 header words (I32.*).
constexpr int kI32Magic = 0;
constexpr int kI32Version = 1;
constexpr int kI32Kind = 2;
constexpr int kI32Count = 3;
constexpr int kI32UnitBytes = 4;
constexpr int kI32CapacityFrames = 11;
constexpr int kI32Waiters = 15;

// BigInt64 header words (I64.*).
constexpr int kI64WriteSeq = 16;
constexpr int kI64FramesWritten = 17;
constexpr int kI64FramesReserved = 18;

// Chunk records (CHUNK_BYTES, ChunkI64.*, ChunkI32.*).
constexpr int32_t kChunkBytes = 48;
constexpr int kChunkSeq = 0;
constexpr int kChunkStartFrame = 1;
constexpr int kChunkCaptureNs = 2;
constexpr int kChunkReceiveNs = 3;
constexpr int kChunkFrames = 8;
constexpr int kChunkFlags = 9;

// ItemFlags.*
constexpr int32_t kFlagDiscontinuity = 1;
constexpr int32_t kFlagTimestampFallback = 2;

// Plain loads and stores are enough for fields a seqlock or a later release protects; the words readers
// synchronize on are sequentially consistent, as JavaScript's Atomics are.
template <typename T>
inline T Load(const T* p) {
  return __atomic_load_n(p, __ATOMIC_SEQ_CST);
}
template <typename T>
inline void Store(T* p, T v) {
  __atomic_store_n(p, v, __ATOMIC_SEQ_CST);
}

class SampleRingWriter {
 public:
  struct Region {
    int64_t startFrame;
    uint32_t frames;
    uint8_t* data;
  };

  // Over a whole sample ring (its SharedArrayBuffer). Check Valid() before use.
  SampleRingWriter(uint8_t* base, size_t length) : base_(base) {
    if (!base || length < size_t(kHeaderBytes)) return;
    i32_ = reinterpret_cast<int32_t*>(base);
    i64_ = reinterpret_cast<int64_t*>(base);
    if (i32_[kI32Magic] != kMagic || i32_[kI32Version] != kVersion || i32_[kI32Kind] != kKindSample) return;
    chunks_ = i32_[kI32Count];
    capacityFrames_ = i32_[kI32CapacityFrames];
    bytesPerFrame_ = i32_[kI32UnitBytes];
    // sampleRingGeometry(): the chunk table right after the header, the samples 64-byte aligned after it.
    const size_t chunkOffset = size_t(kHeaderBytes);
    const size_t dataOffset = (chunkOffset + size_t(chunks_) * kChunkBytes + 63) / 64 * 64;
    if (chunks_ < 1 || capacityFrames_ < 1 || bytesPerFrame_ < 1 ||
        dataOffset + size_t(capacityFrames_) * size_t(bytesPerFrame_) > length)
      return;
    c64_ = reinterpret_cast<int64_t*>(base + chunkOffset);
    c32_ = reinterpret_cast<int32_t*>(base + chunkOffset);
    data_ = base + dataOffset;
  }

  bool Valid() const { return data_ != nullptr; }
  uint32_t BytesPerFrame() const { return uint32_t(bytesPerFrame_); }
  uint32_t CapacityFrames() const { return uint32_t(capacityFrames_); }

  // Up to maxFrames contiguous frames at the write position (the region stops at the ring's end), published
  // as being overwritten before any sample changes, as SampleRingWriter.reserve().
  Region Reserve(uint32_t maxFrames) {
    const int64_t start = i64_[kI64FramesWritten];
    const uint32_t pos = uint32_t(start % capacityFrames_);
    const uint32_t frames = maxFrames < uint32_t(capacityFrames_) - pos ? maxFrames : uint32_t(capacityFrames_) - pos;
    Store(&i64_[kI64FramesReserved], start + frames);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);  // visible before the samples change (a release store alone is not, on arm64)
    return Region{start, frames, data_ + size_t(pos) * size_t(bytesPerFrame_)};
  }

  // Withdraws a reservation nothing was written into.
  void Release() { Store(&i64_[kI64FramesReserved], i64_[kI64FramesWritten]); }

  // Publishes `frames` (≤ reserved, > 0) frames whose first was captured at captureNs; returns the chunk seq.
  int64_t Commit(uint32_t frames, int64_t captureNs, int64_t receiveNs, int32_t flags) {
    const int64_t start = i64_[kI64FramesWritten];
    const int64_t seq = i64_[kI64WriteSeq];
    const size_t k = size_t(seq % chunks_);
    int64_t* r64 = c64_ + k * (kChunkBytes / 8);
    int32_t* r32 = c32_ + k * (kChunkBytes / 4);
    Store(&r64[kChunkSeq], int64_t(-1));  // seqlock: -1 while the record changes
    __atomic_thread_fence(__ATOMIC_SEQ_CST);  // … and seen so before any field changes
    r64[kChunkStartFrame] = start;
    r64[kChunkCaptureNs] = captureNs;
    r64[kChunkReceiveNs] = receiveNs;
    r32[kChunkFrames] = int32_t(frames);
    r32[kChunkFlags] = flags;
    Store(&r64[kChunkSeq], seq);
    const int64_t end = start + frames;
    Store(&i64_[kI64FramesReserved], end);
    Store(&i64_[kI64FramesWritten], end);
    Store(&i64_[kI64WriteSeq], seq + 1);
    return seq;
  }

  // Whether a reader sleeps (or is about to) and needs JavaScript to wake it. Read after a commit.
  bool ReadersWaiting() const { return Load(&i32_[kI32Waiters]) > 0; }

 private:
  uint8_t* base_;
  int32_t* i32_ = nullptr;
  int64_t* i64_ = nullptr;
  int64_t* c64_ = nullptr;
  int32_t* c32_ = nullptr;
  uint8_t* data_ = nullptr;
  int32_t chunks_ = 0;
  int32_t capacityFrames_ = 0;
  int32_t bytesPerFrame_ = 0;
};

}  // namespace ring
}  // namespace senseflow
