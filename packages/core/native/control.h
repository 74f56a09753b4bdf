// A source worker's mailbox, for native code that keeps the worker's thread for long stretches (the ALSA
// capture loop reads and commits for up to 100 ms per call). SourceContext.mailbox is Int32[2] over shared
// memory: the host adds 1 to POSTED before each control message it posts to the worker, the worker adds 1 to
// TAKEN as each arrives (Mailbox in ../src/worker/protocol.ts; test/native-header.test.ts checks the indices).
// While they differ a start, stop, close or control call waits for the worker's event loop: return to it.
#pragma once

#include <cstdint>

namespace senseflow {

constexpr int kMailboxPosted = 0;
constexpr int kMailboxTaken = 1;

// True while a control message waits; false for a null mailbox (none was given).
inline bool ControlPending(const int32_t* mailbox) {
  return mailbox && __atomic_load_n(&mailbox[kMailboxPosted], __ATOMIC_SEQ_CST) !=
                        __atomic_load_n(&mailbox[kMailboxTaken], __ATOMIC_SEQ_CST);
}

}  // namespace senseflow
